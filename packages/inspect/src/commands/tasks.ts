// `tasks URL [--watch]`: a scheduler's tasks (GET /tasks): state, worker, attempts and, for a
// running task, its progress as a bar. --watch redraws every second (a terminal) or prints
// each change (a pipe; with --json, one JSON array per change) until every listed task has
// finished or Ctrl-C.
import { setTimeout as sleep } from 'node:timers/promises'
import { HyphaApiError, HyphaClient, type TaskState, type TaskView } from '@hypha/client'
import { InspectError } from '../errors.js'
import { age, json, type Output, paint, progressBar, shortId, table } from '../output.js'

export interface TasksOptions {
  json: boolean
  watch: boolean
  limit: number
  states?: TaskState[]
  intervalMs?: number
  signal?: AbortSignal
}

const ACTIVE: ReadonlySet<TaskState> = new Set(['pending', 'assigned', 'running'])

export async function tasksCommand(url: string, options: TasksOptions, output: Output): Promise<number> {
  const client = new HyphaClient(url)
  const list = async (): Promise<TaskView[]> => {
    try {
      return await client.list({ limit: options.limit, ...(options.states !== undefined ? { states: options.states } : {}) })
    } catch (err) {
      if (err instanceof HyphaApiError) throw new InspectError(`${url}/tasks: ${err.message}`)
      const cause = (err as { cause?: { code?: string } }).cause
      throw new InspectError(`cannot reach ${url}: ${cause?.code ?? (err as Error).message}`)
    }
  }
  let previous = ''
  for (;;) {
    const tasks = await list()
    const text = options.json ? (options.watch ? `${JSON.stringify(tasks)}\n` : json(tasks)) : renderTasks(tasks, output)
    // on a terminal a watch redraws in place; into a pipe it prints only what changed
    const shown = options.json ? text : renderTasks(tasks, output, 0)
    if (!options.watch) {
      output.write(text)
      return 0
    }
    if (output.tty && !options.json) output.write(`\u001b[H\u001b[2J${text}`)
    else if (shown !== previous) output.write(text)
    previous = shown
    if (!tasks.some((t) => ACTIVE.has(t.state))) return 0
    try {
      await sleep(options.intervalMs ?? 1000, undefined, options.signal !== undefined ? { signal: options.signal } : {})
    } catch {
      return 0 // interrupted
    }
  }
}

/** `now` 0 leaves ages out (what a pipe's change detection compares). */
export function renderTasks(tasks: readonly TaskView[], output: Output, now = Date.now()): string {
  if (tasks.length === 0) return 'No tasks.\n'
  const stateColour = (state: TaskState) =>
    state === 'succeeded' ? 'green' : state === 'failed' ? 'red' : state === 'running' ? 'yellow' : 'dim'
  return table(
    ['task', 'executor', 'state', 'worker', 'attempts', 'progress', 'age', 'message'],
    tasks.map((t) => [
      t.id,
      t.executor,
      paint(output, stateColour(t.state), t.state),
      output.tty ? shortId(t.worker) : (t.worker ?? '-'),
      `${t.attempts}/${t.maxAttempts}`,
      t.state === 'running' || t.state === 'assigned' ? progressBar(t.progress?.fraction) : t.state === 'succeeded' ? progressBar(1) : '',
      now === 0 ? '' : age(t.createdAt, now),
      // a finished task's last progress message is stale: show why it failed, or nothing
      t.error ?? (ACTIVE.has(t.state) ? (t.progress?.message ?? '') : ''),
    ]),
  )
}
