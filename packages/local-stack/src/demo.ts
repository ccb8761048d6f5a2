// The demo: submits a batch of tasks of every built-in executor to a scheduler's HTTP API, shows
// progress until all are finished, and checks every result against what it expects (an echo of
// the input, the sha256 of the bytes sent, the sleep requested).
import { createHash, randomBytes } from 'node:crypto'

export interface DemoOptions {
  /** Scheduler HTTP API, e.g. "http://127.0.0.1:7081". */
  scheduler: string
  /** @default 30 */
  tasks?: number
  /** Size of each sha256 task's input (sent base64, fetched by the worker over a stream). @default 1 MiB */
  sha256Bytes?: number
  /** Give up after this long. @default 120_000 */
  timeoutMs?: number
  write?: (line: string) => void
}

interface Expected {
  id: string
  executor: 'echo' | 'sleep' | 'sha256'
  result: unknown
}

interface TaskStatus {
  id: string
  state: 'pending' | 'assigned' | 'running' | 'succeeded' | 'failed'
  worker?: string
  attempts: number
  result?: unknown
  error?: string
  createdAt: number
  updatedAt: number
}

export interface DemoReport {
  submitted: number
  succeeded: number
  failed: number
  /** Succeeded with exactly the expected result. */
  verified: number
  mismatches: string[]
  /** Tasks per worker peer id. */
  byWorker: Record<string, number>
  /** Median submission-to-result time per executor, ms (scheduler clock). */
  medianMs: Record<string, number>
  wallMs: number
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

async function api<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) })
  const text = await response.text()
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${text}`)
  return JSON.parse(text) as T
}

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  const count = options.tasks ?? 30
  const sha256Bytes = options.sha256Bytes ?? 1024 * 1024
  const started = Date.now()
  const expected: Expected[] = []

  for (let i = 0; i < count; i++) {
    const kind = (['echo', 'sha256', 'sleep'] as const)[i % 3] ?? 'echo'
    let body: { executor: string; input: string | { base64: string } }
    let result: unknown
    if (kind === 'echo') {
      const text = `hello from task ${i + 1}`
      body = { executor: 'echo', input: text }
      result = { echo: text }
    } else if (kind === 'sha256') {
      const bytes = randomBytes(sha256Bytes)
      body = { executor: 'sha256', input: { base64: bytes.toString('base64') } }
      result = { sha256: createHash('sha256').update(bytes).digest('hex') }
    } else {
      const ms = 200 + ((i * 137) % 1300)
      body = { executor: 'sleep', input: String(ms) }
      result = { slept: ms }
    }
    const { id } = await api<{ id: string }>(`${options.scheduler}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expected.push({ id, executor: kind, result })
  }
  write(`submitted ${count} tasks (echo, sha256 of ${sha256Bytes} bytes each, sleep 0.2-1.5 s) to ${options.scheduler}`)

  const deadline = started + (options.timeoutMs ?? 120_000)
  const final = new Map<string, TaskStatus>()
  let lastLine = ''
  while (final.size < expected.length) {
    if (Date.now() > deadline) throw new Error(`${expected.length - final.size} tasks still unfinished after ${options.timeoutMs ?? 120_000} ms`)
    const counts = { pending: 0, assigned: 0, running: 0, succeeded: 0, failed: 0 }
    for (const task of expected) {
      const status = final.get(task.id) ?? (await api<TaskStatus>(`${options.scheduler}/tasks/${task.id}`))
      counts[status.state]++
      if (status.state === 'succeeded' || status.state === 'failed') final.set(task.id, status)
    }
    const line = `[${((Date.now() - started) / 1000).toFixed(1)}s] ${final.size}/${expected.length} finished: ${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.running} running, ${counts.assigned} assigned, ${counts.pending} pending`
    if (line.slice(line.indexOf(']')) !== lastLine.slice(lastLine.indexOf(']'))) write(line)
    lastLine = line
    if (final.size < expected.length) await new Promise((resolve) => setTimeout(resolve, 250))
  }

  const report: DemoReport = { submitted: count, succeeded: 0, failed: 0, verified: 0, mismatches: [], byWorker: {}, medianMs: {}, wallMs: Date.now() - started }
  const durations: Record<string, number[]> = {}
  for (const task of expected) {
    const status = final.get(task.id)
    if (status === undefined) continue
    if (status.state === 'failed') {
      report.failed++
      report.mismatches.push(`${task.id} (${task.executor}) failed: ${status.error ?? 'no error given'}`)
      continue
    }
    report.succeeded++
    if (JSON.stringify(status.result) === JSON.stringify(task.result)) report.verified++
    else report.mismatches.push(`${task.id} (${task.executor}): expected ${JSON.stringify(task.result)}, got ${JSON.stringify(status.result)}`)
    if (status.worker !== undefined) report.byWorker[status.worker] = (report.byWorker[status.worker] ?? 0) + 1
    ;(durations[task.executor] ??= []).push(status.updatedAt - status.createdAt)
  }
  for (const [executor, values] of Object.entries(durations)) report.medianMs[executor] = median(values)
  write(`done in ${(report.wallMs / 1000).toFixed(1)} s: ${report.verified}/${count} results verified, ${report.failed} failed`)
  for (const [worker, n] of Object.entries(report.byWorker)) write(`  worker ${worker}: ${n} tasks`)
  for (const [executor, ms] of Object.entries(report.medianMs)) write(`  ${executor}: median ${ms.toFixed(0)} ms from submission to result`)
  for (const problem of report.mismatches) write(`  PROBLEM ${problem}`)
  return report
}
