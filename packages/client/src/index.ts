// @hypha/client: the scheduler's HTTP API as typed calls. Types come from @hypha/tasks (the
// zod schemas the scheduler validates with and its OpenAPI document is generated from), imported
// as types only: at run time the client is fetch and node:fs, nothing of the engine.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type { JsonValue, TaskState, TaskSubmission, TaskView, WorkerView } from '@hypha/tasks'

export type { JsonValue, TaskState, TaskSubmission, TaskView, WorkerView }

/** An answer other than the expected one: its HTTP status and the scheduler's problem body. */
export class HyphaApiError extends Error {
  override readonly name = 'HyphaApiError'
  readonly status: number
  readonly body: unknown

  constructor(method: string, path: string, status: number, body: unknown) {
    const detail = typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : JSON.stringify(body)
    super(`${method} ${path}: ${status} ${detail}`)
    this.status = status
    this.body = body
  }
}

/** A downloaded result file did not have the bytes the scheduler announced. */
export class ResultIntegrityError extends Error {
  override readonly name = 'ResultIntegrityError'
}

export interface HyphaClientOptions {
  /** @default globalThis.fetch */
  fetch?: typeof fetch
  /** Sent with every request (e.g. an authorization header of a proxy in front). */
  headers?: Record<string, string>
}

export interface ListOptions {
  states?: readonly TaskState[]
  limit?: number
  /** Page on after this task id (the last of the previous page), in the listing's order. */
  after?: string
  /** The latest submissions first, instead of the oldest. @default false */
  newestFirst?: boolean
  signal?: AbortSignal
}

export interface WaitOptions {
  /** Poll interval. @default 250 */
  intervalMs?: number
  /** Give up (rejecting) after this long. @default no limit */
  timeoutMs?: number
  signal?: AbortSignal
  /** Called whenever the task's state or progress changed since the last poll. */
  onProgress?: (task: TaskView) => void
}

const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'failed'])

export class HyphaClient {
  readonly baseUrl: string
  readonly #fetch: typeof fetch
  readonly #headers: Record<string, string>

  /** @param baseUrl - the scheduler's HTTP address, e.g. http://127.0.0.1:7081 */
  constructor(baseUrl: string, options: HyphaClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.#fetch = options.fetch ?? globalThis.fetch
    this.#headers = options.headers ?? {}
  }

  /** Submits a task; `created` is false when a task with this id, executor and input already existed. */
  async submit(task: TaskSubmission, options: { signal?: AbortSignal } = {}): Promise<{ id: string; created: boolean }> {
    const response = await this.#request('POST', '/tasks', { body: task, signal: options.signal, expect: [200, 201] })
    const { id } = (await response.json()) as { id: string }
    return { id, created: response.status === 201 }
  }

  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<TaskView> {
    return (await (await this.#request('GET', `/tasks/${encodeURIComponent(id)}`, options)).json()) as TaskView
  }

  async list(options: ListOptions = {}): Promise<TaskView[]> {
    const query = new URLSearchParams()
    if (options.states !== undefined && options.states.length > 0) query.set('state', options.states.join(','))
    if (options.limit !== undefined) query.set('limit', String(options.limit))
    if (options.after !== undefined) query.set('after', options.after)
    if (options.newestFirst === true) query.set('order', 'newest')
    const path = `/tasks${query.size > 0 ? `?${query}` : ''}`
    return (await (await this.#request('GET', path, { signal: options.signal })).json()) as TaskView[]
  }

  /** Cancels a task that has not finished; its job is stopped at the worker's next renewal. */
  async cancel(id: string, reason?: string, options: { signal?: AbortSignal } = {}): Promise<TaskView> {
    const path = `/tasks/${encodeURIComponent(id)}${reason !== undefined ? `?reason=${encodeURIComponent(reason)}` : ''}`
    return (await (await this.#request('DELETE', path, options)).json()) as TaskView
  }

  /** Polls until the task has succeeded or failed, reporting each change of state or progress. */
  async wait(id: string, options: WaitOptions = {}): Promise<TaskView> {
    const signals = [options.signal, options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined].filter((s) => s !== undefined)
    const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined
    let seen = ''
    for (;;) {
      const task = await this.get(id, signal !== undefined ? { signal } : {})
      const now = JSON.stringify([task.state, task.progress])
      if (now !== seen) {
        seen = now
        options.onProgress?.(task)
      }
      if (FINISHED.has(task.state)) return task
      await delay(options.intervalMs ?? 250, signal)
    }
  }

  /** A JSON result (executors with result = "json"). */
  async result(id: string, options: { signal?: AbortSignal } = {}): Promise<JsonValue> {
    const response = await this.#request('GET', `/tasks/${encodeURIComponent(id)}/result`, options)
    return ((await response.json()) as { result: JsonValue }).result
  }

  /**
   * Streams a result file to `destination` (via `<destination>.partial`), hashing it on the way,
   * and keeps it only when size and sha256 are what the scheduler announced.
   */
  async downloadResult(id: string, destination: string, options: { signal?: AbortSignal } = {}): Promise<{ size: number; sha256: string }> {
    const response = await this.#request('GET', `/tasks/${encodeURIComponent(id)}/result`, options)
    const expected = response.headers.get('x-hypha-sha256')
    if (expected === null || response.body === null) throw new ResultIntegrityError(`task ${id} has a JSON result, not a result file: use result()`)
    const partial = `${destination}.partial`
    const hash = createHash('sha256')
    let size = 0
    try {
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk)
            size += chunk.byteLength
            yield chunk
          }
        },
        createWriteStream(partial),
        ...(options.signal !== undefined ? [{ signal: options.signal }] : []),
      )
      const sha256 = hash.digest('hex')
      const length = Number(response.headers.get('content-length') ?? size)
      if (sha256 !== expected || size !== length) {
        throw new ResultIntegrityError(`the result of task ${id} arrived as ${size} bytes with sha256 ${sha256}, announced ${length} bytes with ${expected}`)
      }
      await rename(partial, destination)
      return { size, sha256 }
    } catch (err) {
      await rm(partial, { force: true })
      throw err
    }
  }

  async workers(options: { signal?: AbortSignal } = {}): Promise<WorkerView[]> {
    return (await (await this.#request('GET', '/workers', options)).json()) as WorkerView[]
  }

  async #request(method: string, path: string, options: { body?: unknown; signal?: AbortSignal | undefined; expect?: readonly number[] }): Promise<Response> {
    const response = await this.#fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...this.#headers, ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    })
    if (!(options.expect ?? [200]).includes(response.status)) {
      const text = await response.text()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: keep the text
      }
      throw new HyphaApiError(method, path, response.status, body)
    }
    return response
  }
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
