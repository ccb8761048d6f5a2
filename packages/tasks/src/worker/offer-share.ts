// Which announced tasks a worker offers for.
//
// Every idle worker hears every announcement. When each one offered for the first task it could
// run, all but one lost: with N idle workers one task cost the scheduler N offers and N - 1 pulls
// (bench/scheduler-scale.mjs, the steady phase), so its cost per task grew with the size of the
// swarm. Instead each worker offers for a task it hears of for the first time with a probability
// it learns per scheduler, from what its own offers tell it:
//  - it lost the race for such a task: more workers compete than there are tasks, so it offers
//    less often (x LOSS_FACTOR);
//  - it won one: x 2;
//  - a task it passed on is announced again (nobody took it within a round): too few offered,
//    so x 2.
// A task announced again is offered for by every worker that can run it, so passing on a task
// delays it by one announcement round at most. Simulated and measured, the offers per task
// settle near 10 at 1,000 idle workers (instead of 1,000) and near 4 at 20, with under 1% of
// tasks waiting a round (docs/benchmarks.md, "One scheduler, many workers").
// In a burst (k fresh tasks in one announcement) a worker offers with probability share x k, for
// a random one of them, so the workers spread over the tasks instead of all racing for the first.
import type { AnnouncedTask } from '../protocol/messages.js'

/** A lost race for a fresh task multiplies the share by this. */
const LOSS_FACTOR = 0.8
/** The share never falls below this (1 in 4,096 announcements). */
const MIN_SHARE = 1 / 4096
/** Task ids remembered as heard (and whether this worker passed on them). */
const REMEMBERED_TASKS = 10_000
/** Schedulers whose share is kept. */
const REMEMBERED_SCHEDULERS = 1_000

export interface ChosenTask {
  task: AnnouncedTask
  /** First heard of in this announcement: a lost race for it lowers the share. */
  fresh: boolean
}

export class OfferShare {
  readonly #random: () => number
  readonly #shares = new Map<string, number>()
  /** Task id -> whether this worker passed on it (by chance, not for lack of a slot). */
  readonly #heard = new Map<string, boolean>()

  constructor(random: () => number = Math.random) {
    this.#random = random
  }

  /** The probability of offering for a fresh task announced alone by `scheduler`. */
  share(scheduler: string): number {
    return this.#shares.get(scheduler) ?? 1
  }

  /**
   * The tasks to offer for, at most `slots`, out of `runnable` (the announced tasks this worker
   * can run). Called for every announcement, with no free slot too, so that a task heard of
   * while busy counts as announced again later.
   */
  choose(scheduler: string, runnable: readonly AnnouncedTask[], slots: number): ChosenTask[] {
    const again: AnnouncedTask[] = []
    const fresh: AnnouncedTask[] = []
    let passedOnBefore = false
    for (const task of runnable) {
      const passed = this.#heard.get(task.id)
      if (passed === undefined) fresh.push(task)
      else {
        again.push(task)
        if (passed) {
          passedOnBefore = true
          this.#heard.set(task.id, false)
        }
      }
    }
    if (passedOnBefore) this.#scale(scheduler, 2)
    // a random pick spreads the workers of one announcement over its tasks
    const chosen: ChosenTask[] = this.#pick(again, slots).map((task) => ({ task, fresh: false }))
    let free = slots - chosen.length
    const offering = free > 0 && fresh.length > 0 && this.#random() < this.share(scheduler) * fresh.length
    if (offering) {
      for (const task of this.#pick(fresh, free)) chosen.push({ task, fresh: true })
      free = 0
    }
    // passed on only when a slot was free for it: a busy worker's silence says nothing of the share
    const passed = free > 0 && !offering
    for (const task of fresh) this.#remember(task.id, passed)
    return chosen
  }

  /** Up to `count` of `tasks` at random (a partial Fisher-Yates shuffle of a copy). */
  #pick(tasks: readonly AnnouncedTask[], count: number): AnnouncedTask[] {
    const pool = [...tasks]
    const picked: AnnouncedTask[] = []
    while (picked.length < count && pool.length > 0) {
      const i = Math.floor(this.#random() * pool.length)
      picked.push(pool[i] as AnnouncedTask)
      pool[i] = pool[pool.length - 1] as AnnouncedTask
      pool.pop()
    }
    return picked
  }

  /** A fresh task this worker offered for went to another worker. */
  lost(scheduler: string): void {
    this.#scale(scheduler, LOSS_FACTOR)
  }

  /** A fresh task this worker offered for was assigned to it. */
  won(scheduler: string): void {
    this.#scale(scheduler, 2)
  }

  #scale(scheduler: string, factor: number): void {
    const share = Math.min(1, Math.max(MIN_SHARE, this.share(scheduler) * factor))
    this.#shares.delete(scheduler)
    this.#shares.set(scheduler, share)
    if (this.#shares.size > REMEMBERED_SCHEDULERS) this.#shares.delete(this.#shares.keys().next().value as string)
  }

  #remember(taskId: string, passed: boolean): void {
    this.#heard.set(taskId, passed)
    if (this.#heard.size > REMEMBERED_TASKS) this.#heard.delete(this.#heard.keys().next().value as string)
  }
}
