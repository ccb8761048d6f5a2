// Announces pending tasks on the task topic: at most one round in flight and one queued behind
// it, rounds at least `minGapMs` apart (a burst of submissions costs a few rounds, not one each;
// busy workers do not need them, they pull), rotating through a backlog larger
// than one round so tasks no worker takes cannot hide the ones behind them. Each round is an
// indexed page of the store, not a scan of every task.
import type { TypedTopic } from '@hypha/network-core'
import { type Announcement, LIMITS, TASK_PROTOCOL_VERSION } from '../protocol/messages.js'
import type { TaskStore } from './task-store.js'

export interface AnnouncerOptions {
  store: Pick<TaskStore, 'list'>
  topic: TypedTopic<Announcement>
  /** The announcing scheduler's peer id. */
  scheduler: string
  /** The task set's id, for replicas sharing one store. */
  group?: string
  /** Its current addresses (workers that are not connected dial these). */
  addresses: () => string[]
  maxPerRound: number
  /** Least time between the starts of two rounds. @default 100 */
  minGapMs?: number
  signal: AbortSignal
  onError: (err: unknown) => void
}

export class Announcer {
  readonly #options: AnnouncerOptions
  #cursor: string | undefined
  #running: Promise<void> | undefined
  #again = false
  #lastRoundAt = Number.NEGATIVE_INFINITY
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(options: AnnouncerOptions) {
    this.#options = options
  }

  /** Asks for a round; coalesces with one in flight. */
  request(): void {
    if (this.#options.signal.aborted) return
    if (this.#running !== undefined) {
      this.#again = true
      return
    }
    const wait = this.#lastRoundAt + (this.#options.minGapMs ?? 100) - performance.now()
    if (wait > 0) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined
        this.request()
      }, wait)
      return
    }
    this.#lastRoundAt = performance.now()
    // the round starts after the current I/O callbacks: submissions arriving together (a client
    // posting a batch) share one round instead of the first going out alone
    this.#running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#round())
      .catch((err: unknown) => { this.#options.onError(err) })
      .finally(() => {
        this.#running = undefined
        if (this.#again) {
          this.#again = false
          this.request()
        }
      })
  }

  /** Settles once no round is in flight (and drops a round waiting for its gap). */
  async idle(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    while (this.#running !== undefined) await this.#running
  }

  async #round(): Promise<void> {
    const { store, maxPerRound } = this.#options
    let pending = await store.list({ states: ['pending'], limit: maxPerRound, ...(this.#cursor !== undefined ? { after: this.#cursor } : {}) })
    if (pending.length < maxPerRound && this.#cursor !== undefined) {
      // wrapped around the backlog: continue from the oldest
      const seen = new Set(pending.map((task) => task.id))
      const head = await store.list({ states: ['pending'], limit: maxPerRound - pending.length })
      pending = [...pending, ...head.filter((task) => !seen.has(task.id))]
    }
    this.#cursor = pending.length === maxPerRound ? pending.at(-1)?.id : undefined
    const group = this.#options.group
    // a replicated task set's leader says so every round, pending tasks or not: workers running
    // tasks of a replica that died report to it from then on
    if (pending.length === 0 && group === undefined) return
    const addrs = this.#options.addresses()
      .filter((a) => a.length <= LIMITS.addressChars)
      .slice(0, LIMITS.addressesPerAnnouncement)
    if (pending.length === 0) {
      await this.#options.topic.publish({ v: TASK_PROTOCOL_VERSION, scheduler: this.#options.scheduler, addrs, tasks: [], group: group as string }, { signal: this.#options.signal })
      return
    }
    for (let i = 0; i < pending.length; i += LIMITS.tasksPerAnnouncement) {
      const tasks = pending.slice(i, i + LIMITS.tasksPerAnnouncement).map((task) => ({
        id: task.id,
        executor: task.executor,
        inputSize: task.inputSize,
        attempt: task.attempts,
        ...(task.requirements !== undefined ? { requirements: task.requirements } : {}),
      }))
      await this.#options.topic.publish({ v: TASK_PROTOCOL_VERSION, scheduler: this.#options.scheduler, addrs, tasks, ...(group !== undefined ? { group } : {}) }, { signal: this.#options.signal })
    }
  }
}
