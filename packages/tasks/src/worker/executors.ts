// The executors a worker can run, and the built-in ones: echo, sleep and sha256. An executor gets
// its input lazily (inline or streamed from the scheduler) and must honour the abort signal.
import { createHash } from 'node:crypto'
import type { JsonValue } from '../protocol/messages.js'

export interface TaskInput {
  /** 'text' when submitted as a UTF-8 string, 'bytes' when submitted as base64. */
  readonly kind: 'text' | 'bytes'
  readonly size: number
  /** The input in chunks as they arrive (streamed from the scheduler when not inline). */
  stream(): AsyncIterable<Uint8Array>
  bytes(): Promise<Uint8Array>
  text(): Promise<string>
}

export interface ExecutorContext {
  taskId: string
  input: TaskInput
  /** Aborts on the task's timeout, a lost lease or the worker stopping. */
  signal: AbortSignal
  /** Reports progress to the scheduler (best effort, not awaited by the worker's loop). */
  progress(fraction?: number, message?: string): void
}

/**
 * A result delivered as a file, of any size and any bytes: the worker pushes it to the scheduler
 * over the bulk transfer protocol (resumable, sha256 checked) and reports `summary` with it.
 * `release` runs once the scheduler has the report (or the attempt is over): the executor's
 * clean-up of the file's directory.
 */
export class ResultFile {
  readonly path: string
  readonly summary: JsonValue
  readonly release: () => Promise<void>

  constructor(path: string, options: { summary?: JsonValue; release?: () => Promise<void> } = {}) {
    this.path = path
    this.summary = options.summary ?? null
    this.release = options.release ?? (async () => undefined)
  }
}

/** What an executor returns: a JSON value (carried in the report, up to LIMITS.resultBytes) or a ResultFile. */
export type ExecutorResult = JsonValue | ResultFile

export type Executor = (context: ExecutorContext) => Promise<ExecutorResult>

/** Thrown by an executor when another attempt might succeed; anything else fails the task for good. */
export class RetryableTaskError extends Error {
  override readonly name = 'RetryableTaskError'
}

export async function echoExecutor({ input }: ExecutorContext): Promise<JsonValue> {
  if (input.kind === 'text') return { echo: await input.text() }
  return { echo: { base64: Buffer.from(await input.bytes()).toString('base64') } }
}

const MAX_SLEEP_MS = 24 * 3600 * 1000

/** Input: a duration in milliseconds as a decimal string. */
export async function sleepExecutor({ input, signal }: ExecutorContext): Promise<JsonValue> {
  const text = (await input.text()).trim()
  const ms = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(ms) || ms > MAX_SLEEP_MS) {
    throw new Error(`sleep expects a whole number of milliseconds up to ${MAX_SLEEP_MS}, got "${text.slice(0, 32)}"`)
  }
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  return { slept: ms }
}

/** Hashes the input incrementally as it streams in: memory stays at one chunk whatever the size. */
export async function sha256Executor({ input, signal }: ExecutorContext): Promise<JsonValue> {
  const hash = createHash('sha256')
  for await (const chunk of input.stream()) {
    signal.throwIfAborted()
    hash.update(chunk)
  }
  return { sha256: hash.digest('hex') }
}

export function builtinExecutors(): Record<string, Executor> {
  return { echo: echoExecutor, sleep: sleepExecutor, sha256: sha256Executor }
}
