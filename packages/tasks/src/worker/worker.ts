// The worker's execution engine: offers for announced tasks it can run while it has free slots
// (for a task heard of first, only as often as its learnt share says: offer-share.ts),
// pulls the next ones from the same scheduler as soon as a slot frees, runs them with their input
// (inline, pulled over bulk transfer or streamed: input-source.ts), renews each lease every
// ttl/3, reports the outcome, and on stop hands running tasks back so the scheduler re-queues
// them at once.
//
// A scheduler that is unreachable (restarting, say) does not stop a running task: renewals fail
// quietly, the task runs to its end, and its report is retried with backoff until the scheduler
// answers or `reportRetryMs` has passed. Only the scheduler saying the lease is gone stops it.
import type { Libp2p, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import { type RepeatingTask, repeatingTask } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { BulkTransfer, RequestResponse, TypedPubSub } from '@hypha/network-core'
import { fetchInput } from '../protocol/input-stream.js'
import {
  ANNOUNCE_TOPIC,
  type AnnouncedTask,
  type Announcement,
  AnnouncementSchema,
  type Assignment,
  INPUT_PROTOCOL,
  type JsonValue,
  type Labels,
  LIMITS,
  type NextAsk,
  OFFER_PROTOCOL,
  OfferProtocol,
  PROGRESS_PROTOCOL,
  ProgressProtocol,
  PULL_PROTOCOL,
  PullProtocol,
  RENEW_PROTOCOL,
  RenewProtocol,
  REPORT_PROTOCOL,
  ReportProtocol,
  type ReportRequest,
  type ReportResponse,
  type ResultPayload,
  resultPayloadName,
  TASK_PROTOCOL_VERSION,
  WORKER_STATUS_TOPIC,
  type WorkerCapabilities,
  WorkerStatusSchema,
} from '../protocol/messages.js'
import { canRun } from '../protocol/requirements.js'
import { type PeerRoleSource, RoleCheck, type RoleRefusal } from '../protocol/roles.js'
import { builtinExecutors, type Executor, ResultFile, RetryableTaskError } from './executors.js'
import { inputSource } from './input-source.js'
import { OfferShare } from './offer-share.js'

/** The part of HyphaNode the worker uses (tests can hand in a fake). */
export interface WorkerNode {
  readonly peerId: PeerId
  readonly rpc: Pick<RequestResponse, 'request'>
  readonly pubsub: Pick<TypedPubSub, 'topic'>
  readonly libp2p: Pick<Libp2p, 'dial' | 'dialProtocol' | 'peerStore' | 'getConnections'>
  /**
   * The node's bulk transfer service: needed for executors that return a ResultFile; inputs
   * that are not inline are pulled over it (else streamed over INPUT_PROTOCOL). The worker
   * sets its access policy: a worker serves no payloads and accepts none.
   */
  readonly bulk?: Pick<BulkTransfer, 'push' | 'pull' | 'store' | 'setAccessPolicy'> | undefined
  /** Verified certificate roles of connected peers (the node's NodeIdentity); none: roles are not checked. */
  readonly identity?: PeerRoleSource | undefined
}

export interface WorkerOptions {
  /** Tasks run at once. @default 1 */
  capacity?: number
  /** @default builtinExecutors() (echo, sleep, sha256) */
  executors?: Record<string, Executor>
  /** Matched against a task's `requirements.labels`. */
  labels?: Labels
  /** Timeout of each request to the scheduler. @default 5_000 */
  requestTimeoutMs?: number
  /** Time stop() allows for handing running tasks back. @default 3_000 */
  handBackTimeoutMs?: number
  /** Capabilities are published this often on the worker status topic. @default 5_000 */
  statusIntervalMs?: number
  /** Largest input this worker fetches. @default 256 MiB */
  maxInputBytes?: number
  /** How long a finished task's report is retried while its scheduler is unreachable. @default 300_000 */
  reportRetryMs?: number
  /** Take tasks from peers whose certificate names no role (migration). @default true */
  allowRolelessPeers?: boolean
  /** Random numbers in [0, 1) for choosing which announced tasks to offer for (tests). @default Math.random */
  random?: () => number
}

export type TaskOutcome = 'succeeded' | 'failed' | 'lease-lost' | 'handed-back'

export interface WorkerTaskDetail {
  taskId: string
  scheduler: string
  attempt: number
}

export interface WorkerEvents {
  'task:assigned': CustomEvent<WorkerTaskDetail>
  'task:finished': CustomEvent<WorkerTaskDetail & { outcome: TaskOutcome; result?: JsonValue; error?: string; reported: ReportResponse['status'] | 'not-sent' }>
  'offer:declined': CustomEvent<{ taskId: string; reason: string }>
  /** A request to the scheduler failed (never silent). */
  'protocol:error': CustomEvent<{ protocol: string; taskId?: string; error: string }>
  /** A peer acted as a scheduler without a scheduler certificate: its announcement was ignored. */
  'role:refused': CustomEvent<RoleRefusal>
}

class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError'
}

class HandBackError extends Error {
  override readonly name = 'HandBackError'
}

interface RunningTask {
  assignment: Assignment
  /** Where renewals and the report go: the assigning scheduler, or the leader of its task set after a fail-over. */
  scheduler: PeerId
  /** The assigning scheduler's task set (from its announcements), when it named one. */
  group: string | undefined
  controller: AbortController
  /** Set once the outcome is being reported: stop() then waits instead of handing the task back. */
  reporting: boolean
  done: Promise<void>
}

const V = TASK_PROTOCOL_VERSION

/** Pushes of a result file tried before the attempt fails. */
const DELIVERY_ATTEMPTS = 5

/** A task still running after this long tells its scheduler it started (see #execute). */
const STARTED_AFTER_MS = 100

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 4000)
}

export class Worker extends TypedEventEmitter<WorkerEvents> {
  readonly #node: WorkerNode
  readonly #capacity: number
  readonly #executors: Map<string, Executor>
  readonly #labels: Labels
  readonly #requestTimeoutMs: number
  readonly #handBackTimeoutMs: number
  readonly #statusIntervalMs: number
  readonly #maxInputBytes: number
  readonly #reportRetryMs: number
  /** Only schedulers announce and assign tasks. */
  readonly #roles: RoleCheck
  /** Schedulers with a pull in flight, and whether another is wanted after it. */
  readonly #pulling = new Map<string, { again: boolean }>()
  /** Each scheduler's task set, as its announcements name it. */
  readonly #groups = new Map<string, string>()
  readonly #running = new Map<string, RunningTask>()
  readonly #offering = new Set<string>()
  /** Which announced tasks to offer for, so that idle workers do not all race for each one. */
  readonly #offerShare: OfferShare
  #unsubscribe: (() => void) | undefined
  /** Publishes this worker's capabilities and load every statusIntervalMs, and at once on start. */
  #statusTask: RepeatingTask | undefined
  #started = false
  /** Aborted once stop() has given its hand-backs their time: outstanding report retries end. */
  #stopped = new AbortController()

  constructor(node: WorkerNode, options: WorkerOptions = {}) {
    super()
    this.#node = node
    this.#capacity = options.capacity ?? 1
    if (!Number.isInteger(this.#capacity) || this.#capacity <= 0) throw new RangeError(`capacity must be a positive integer, got ${this.#capacity}`)
    this.#executors = new Map(Object.entries(options.executors ?? builtinExecutors()))
    this.#labels = options.labels ?? {}
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5_000
    this.#handBackTimeoutMs = options.handBackTimeoutMs ?? 3_000
    this.#statusIntervalMs = options.statusIntervalMs ?? 5_000
    this.#maxInputBytes = options.maxInputBytes ?? 256 * 1024 * 1024
    this.#reportRetryMs = options.reportRetryMs ?? 300_000
    this.#roles = new RoleCheck(node.identity, options.allowRolelessPeers ?? true)
    this.#offerShare = new OfferShare(options.random)
  }

  /** Task ids this worker is running now. */
  get running(): string[] {
    return [...this.#running.keys()]
  }

  capabilities(): WorkerCapabilities {
    return { executors: [...this.#executors.keys()], capacity: this.#capacity, running: this.#running.size, labels: this.#labels }
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#stopped = new AbortController()
    // a worker only pulls inputs and pushes results as a client: nothing for peers to take or leave
    this.#node.bulk?.setAccessPolicy(() => 'a worker serves no payloads and accepts none')
    const announcements = this.#node.pubsub.topic(ANNOUNCE_TOPIC, AnnouncementSchema)
    this.#unsubscribe = announcements.subscribe((announcement, from) => { this.#onAnnouncement(announcement, from) })
    const status = this.#node.pubsub.topic(WORKER_STATUS_TOPIC, WorkerStatusSchema)
    this.#statusTask = repeatingTask(async (options) => {
      await status.publish({ v: V, worker: this.capabilities() }, options).catch((err: unknown) => {
        // a publish cut short by stop() is not a protocol error
        if (options?.signal?.aborted !== true) this.#protocolError(WORKER_STATUS_TOPIC, undefined, err)
      })
    }, this.#statusIntervalMs, { runImmediately: true })
    this.#statusTask.start()
  }

  /**
   * Stops offering, aborts running tasks and hands them back to their scheduler (so they are
   * re-queued at once rather than after the lease), all within `handBackTimeoutMs`.
   */
  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#unsubscribe?.()
    this.#statusTask?.stop()
    const deadline = AbortSignal.timeout(this.#handBackTimeoutMs)
    const tasks = [...this.#running.values()]
    const toHandBack = tasks.filter((task) => !task.reporting)
    for (const task of toHandBack) {
      task.reporting = true
      task.controller.abort(new HandBackError('worker stopping'))
    }
    const handBacks = toHandBack.map(async (task) => {
      const { status } = await this.#report(task, { outcome: 'released', reason: 'worker stopping' }, deadline)
      this.#finished(task, 'handed-back', { reported: status })
    })
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      Promise.allSettled([...handBacks, ...tasks.map((t) => t.done)]),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#handBackTimeoutMs) }),
    ])
    clearTimeout(timer)
    this.#stopped.abort(new Error('worker stopped'))
  }

  #freeSlots(): number {
    return this.#capacity - this.#running.size - this.#offering.size
  }

  #canRun(task: AnnouncedTask): boolean {
    if (this.#running.has(task.id) || this.#offering.has(task.id)) return false
    return canRun(task, { executors: [...this.#executors.keys()], labels: this.#labels })
  }

  /** Runs on GossipSub delivery: decides synchronously and starts offers without awaiting them. */
  #onAnnouncement(announcement: Announcement, from: PeerId): void {
    if (!this.#started) return
    // The signed author must be the scheduler the announcement names: offers go to the author.
    if (announcement.scheduler !== from.toString()) return
    // A connected author whose certificate is not a scheduler's is ignored at once; one we have
    // not verified yet (announcements travel through the gossip mesh) is checked before the offer.
    if (!this.#roles.mayBe(from.toString(), 'scheduler')) {
      this.#refuseRole(from.toString(), ANNOUNCE_TOPIC)
      return
    }
    // even with no free slot: a report waiting for a restarted scheduler needs its new address
    const addressed = this.#rememberAddresses(from, announcement.addrs)
    if (announcement.group !== undefined) this.#follow(from, announcement.group)
    const scheduler = from.toString()
    const runnable = announcement.tasks.filter((task) => this.#canRun(task))
    const chosen = this.#offerShare.choose(scheduler, runnable, this.#freeSlots())
    // a lost race is worth a pull only when the announcement named other tasks this worker can
    // run: after losing a task announced alone, a pull would find nothing (and at many idle
    // workers cost the scheduler one empty pull per loser)
    const othersPending = runnable.length > chosen.length
    for (const { task, fresh } of chosen) {
      this.#offering.add(task.id)
      void addressed
        .then(() => this.#offer(task, from))
        .finally(() => this.#offering.delete(task.id))
        .then((outcome) => {
          if (fresh && outcome === 'assigned') this.#offerShare.won(scheduler)
          if (outcome !== 'taken') return
          if (fresh) this.#offerShare.lost(scheduler)
          // the announcement said other tasks are pending: ask for the oldest we can run now
          // instead of waiting for the next round (placement waited rounds: bench/scheduler-scale.mjs)
          if (othersPending) this.#pull(from)
        })
    }
  }

  /**
   * Only a task set's leader announces: tasks from another replica of the same set (one that
   * died, or stepped down) renew and report to this one from now on. The store they share makes
   * any replica's answer valid.
   */
  #follow(leader: PeerId, group: string): void {
    const id = leader.toString()
    if (this.#groups.get(id) !== group) {
      this.#groups.set(id, group)
      if (this.#groups.size > 1_000) this.#groups.delete(this.#groups.keys().next().value as string)
    }
    for (const task of this.#running.values()) {
      if (task.group === group && !task.scheduler.equals(leader)) task.scheduler = leader
    }
  }

  /**
   * The signed announcement names the scheduler's addresses now: they replace what the peer
   * store held, so a scheduler that restarted elsewhere (a new pod IP, another port) is dialled
   * where it is, not at the dead address first.
   */
  #rememberAddresses(peer: PeerId, addrs: string[]): Promise<void> {
    if (this.#node.libp2p.getConnections(peer).length > 0) return Promise.resolve()
    const multiaddrs = []
    for (const addr of addrs) {
      try {
        multiaddrs.push(multiaddr(addr))
      } catch {
        // an address we cannot parse is no use for dialling; the rest may be
      }
    }
    if (multiaddrs.length === 0) return Promise.resolve()
    return this.#node.libp2p.peerStore.patch(peer, { multiaddrs })
      .then(() => undefined, (err: unknown) => this.#protocolError('peer-store', undefined, err))
  }

  /** 'taken': another worker was faster; 'declined' for any other reason; 'failed': no answer. */
  async #offer(task: AnnouncedTask, scheduler: PeerId): Promise<'assigned' | 'taken' | 'declined' | 'failed'> {
    let response
    try {
      const id = scheduler.toString()
      if (this.#roles.unknown(id)) {
        // an announcement that came through the mesh: connect, and let its certificate be
        // verified, before the author learns anything of this worker
        const signal = AbortSignal.timeout(this.#requestTimeoutMs)
        await this.#node.libp2p.dial(scheduler, { signal })
        await this.#roles.whenKnown(id, signal)
      }
      if (this.#refuseRole(id, OFFER_PROTOCOL)) return 'declined'
      response = await this.#node.rpc.request(scheduler, OfferProtocol.id, OfferProtocol,
        { v: V, taskId: task.id, worker: this.capabilities() }, { timeoutMs: this.#requestTimeoutMs })
    } catch (err) {
      this.#protocolError(OFFER_PROTOCOL, task.id, err)
      return 'failed'
    }
    if (!response.assigned) {
      this.safeDispatchEvent('offer:declined', { detail: { taskId: task.id, reason: response.reason } })
      return response.reason === 'taken' ? 'taken' : 'declined'
    }
    this.#run(response.task, scheduler)
    return 'assigned'
  }

  #run(assignment: Assignment, scheduler: PeerId): void {
    const controller = new AbortController()
    const task: RunningTask = { assignment, scheduler, group: this.#groups.get(scheduler.toString()), controller, reporting: false, done: Promise.resolve() }
    this.#running.set(assignment.id, task)
    const detail = { taskId: assignment.id, scheduler: scheduler.toString(), attempt: assignment.attempt }
    this.safeDispatchEvent('task:assigned', { detail })
    if (!this.#started) {
      // Assigned while stopping: give it straight back.
      controller.abort(new HandBackError('worker stopping'))
      task.done = this.#report(task, { outcome: 'released', reason: 'worker stopping' }, AbortSignal.timeout(this.#handBackTimeoutMs))
        .then(({ status }) => this.#finished(task, 'handed-back', { reported: status }))
      return
    }
    task.done = this.#execute(task)
  }

  async #execute(task: RunningTask): Promise<void> {
    const { assignment, controller } = task
    const executor = this.#executors.get(assignment.executor) as Executor
    const timeout = assignment.timeoutMs !== undefined ? AbortSignal.timeout(assignment.timeoutMs) : undefined
    const signal = timeout === undefined ? controller.signal : AbortSignal.any([controller.signal, timeout])
    const renewEvery = Math.max(Math.floor(assignment.lease.ttlMs / 3), 10)
    const renewTimer = setInterval(() => { void this.#renew(task) }, renewEvery)
    // The first progress message moves the task to 'running' on the scheduler and renews the
    // lease; a task done within STARTED_AFTER_MS never sends it (its report says it all), which
    // saves a round trip per task in a queue of short tasks.
    const started = setTimeout(() => this.#sendProgress(task, 0, 'started'), STARTED_AFTER_MS)
    let file: ResultFile | undefined
    const source = inputSource({
      assignment,
      scheduler: () => task.scheduler,
      streamed: () => this.#streamedInput(task, signal),
      bulk: this.#node.bulk,
      maxInputBytes: this.#maxInputBytes,
      signal,
      onPullError: (err) => this.#protocolError('bulk', assignment.id, err),
    })
    try {
      const outcome = await executor({
        taskId: assignment.id,
        input: source.input,
        signal,
        progress: (fraction, message) => this.#sendProgress(task, fraction, message),
      })
      if (outcome instanceof ResultFile) file = outcome
      if (controller.signal.aborted) throw controller.signal.reason
      clearTimeout(started)
      // a result file goes to the scheduler first, under the lease (still renewed meanwhile)
      const payload = file === undefined ? undefined : await this.#deliver(task, file)
      clearInterval(renewTimer)
      task.reporting = true
      const result = file === undefined ? (outcome as JsonValue) : file.summary
      const { status, next } = await this.#reportWithRetries(task, { outcome: 'succeeded', result, ...(payload !== undefined ? { payload } : {}) })
      this.#finished(task, 'succeeded', { result, reported: status }, next)
    } catch (err) {
      clearInterval(renewTimer)
      clearTimeout(started)
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined
      if (reason instanceof HandBackError) return // stop() reports the hand-back
      if (reason instanceof LeaseLostError) {
        this.#finished(task, 'lease-lost', { error: reason.message, reported: 'not-sent' })
        return
      }
      task.reporting = true
      const error = timeout?.aborted === true ? `timed out after ${assignment.timeoutMs} ms` : errorText(err)
      const { status, next } = await this.#reportWithRetries(task, { outcome: 'failed', error, retryable: err instanceof RetryableTaskError })
      this.#finished(task, 'failed', { error, reported: status }, next)
    } finally {
      clearInterval(renewTimer)
      clearTimeout(started)
      await file?.release().catch((err: unknown) => this.#protocolError('executor', assignment.id, err))
      await source.release().catch((err: unknown) => this.#protocolError('bulk', assignment.id, err))
    }
  }

  /**
   * Pushes a result file to the scheduler as the lease's payload. A broken push is retried (bulk
   * transfer resumes where it stopped) up to 5 times; a refusal (too large, not allowed) is final.
   */
  async #deliver(task: RunningTask, file: ResultFile): Promise<ResultPayload> {
    const bulk = this.#node.bulk
    if (bulk === undefined) throw new Error('the executor returned a result file, and this worker has no bulk transfer service to deliver it')
    const name = resultPayloadName(task.assignment.lease.id)
    const { signal } = task.controller
    for (let attempt = 1; ; attempt++) {
      try {
        return await bulk.push(task.scheduler, name, file.path, { signal })
      } catch (err) {
        const code = (err as { code?: unknown; remote?: unknown }).code
        const refused = (err as { remote?: unknown }).remote === true && (code === 'forbidden' || code === 'too-large' || code === 'invalid-request')
        if (signal.aborted) throw err
        if (refused) throw new Error(`the scheduler refused the result file: ${errorText(err)}`)
        if (attempt >= DELIVERY_ATTEMPTS) throw new RetryableTaskError(`the result file was not delivered after ${attempt} attempts: ${errorText(err)}`)
        this.#protocolError('bulk', task.assignment.id, err)
        await sleep(Math.min(500 * 2 ** (attempt - 1), 8_000), signal)
      }
    }
  }

  /** A task's input over INPUT_PROTOCOL, streamed from the scheduler's memory. */
  async *#streamedInput(task: RunningTask, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const { id, lease } = task.assignment
    const stream = await this.#node.libp2p.dialProtocol(task.scheduler, INPUT_PROTOCOL, { signal, runOnLimitedConnection: true })
    yield* fetchInput(stream, { v: V, taskId: id, leaseId: lease.id }, { signal, maxBytes: this.#maxInputBytes })
  }

  async #renew(task: RunningTask): Promise<void> {
    const { assignment, controller } = task
    if (controller.signal.aborted) return
    try {
      const response = await this.#node.rpc.request(task.scheduler, RenewProtocol.id, RenewProtocol,
        { v: V, taskId: assignment.id, leaseId: assignment.lease.id }, { timeoutMs: this.#requestTimeoutMs, signal: controller.signal })
      this.#leaseAnswer(task, response.status)
    } catch (err) {
      // unreachable scheduler: keep running, the report will find it when it is back
      if (controller.signal.aborted) return
      this.#protocolError(RENEW_PROTOCOL, assignment.id, err)
    }
  }

  #sendProgress(task: RunningTask, fraction?: number, message?: string): void {
    const { assignment, controller } = task
    if (controller.signal.aborted) return
    const request = {
      v: V, taskId: assignment.id, leaseId: assignment.lease.id,
      ...(fraction !== undefined ? { fraction } : {}),
      ...(message !== undefined ? { message: message.slice(0, 512) } : {}),
    } as const
    this.#node.rpc.request(task.scheduler, ProgressProtocol.id, ProgressProtocol,
      request, { timeoutMs: this.#requestTimeoutMs, signal: controller.signal })
      .then((response) => this.#leaseAnswer(task, response.status))
      .catch((err: unknown) => {
        if (!controller.signal.aborted) this.#protocolError(PROGRESS_PROTOCOL, assignment.id, err)
      })
  }

  #leaseAnswer(task: RunningTask, status: 'renewed' | 'lost'): void {
    if (status === 'lost') task.controller.abort(new LeaseLostError(`the scheduler no longer grants task ${task.assignment.id} to this worker`))
  }

  /**
   * A report's retry budget: reportRetryMs, or until the worker has stopped. A cleared timer, not
   * AbortSignal.timeout(), so a delivered report leaves nothing alive for minutes.
   */
  #reportDeadline(): { signal: AbortSignal; clear(): void } {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new Error(`report not delivered within ${this.#reportRetryMs} ms`)), this.#reportRetryMs)
    const stopped = this.#stopped.signal
    const onStopped = (): void => controller.abort(stopped.reason)
    if (stopped.aborted) onStopped()
    else stopped.addEventListener('abort', onStopped, { once: true })
    return {
      signal: controller.signal,
      clear: () => {
        clearTimeout(timer)
        stopped.removeEventListener('abort', onStopped)
      },
    }
  }

  /**
   * Reports a finished task (retrying while the scheduler is away) and asks, on the same round
   * trip, for the next tasks for the slot it frees.
   */
  async #reportWithRetries(
    task: RunningTask,
    outcome: { outcome: 'succeeded'; result: JsonValue; payload?: ResultPayload } | { outcome: 'failed'; error: string; retryable: boolean },
  ): Promise<{ status: ReportResponse['status'] | 'not-sent'; next?: Assignment[] }> {
    const deadline = this.#reportDeadline()
    // the slot of this task, plus any other free one, minus offers in flight
    const max = Math.min(this.#freeSlots() + 1, LIMITS.tasksPerPull)
    const next = this.#started && max > 0 ? { worker: this.capabilities(), max } : undefined
    try {
      return await this.#report(task, { ...outcome, ...(next !== undefined ? { next } : {}) }, deadline.signal)
    } finally {
      deadline.clear()
    }
  }

  /**
   * Sends a report, retrying transport failures with backoff (250 ms doubling to 5 s) until
   * `deadline`; returns the scheduler's verdict, or 'not-sent' when it never answered.
   */
  async #report(
    task: RunningTask,
    outcome: ({ outcome: 'succeeded'; result: JsonValue; payload?: ResultPayload } | { outcome: 'failed'; error: string; retryable: boolean } | { outcome: 'released'; reason: string }) & { next?: NextAsk },
    deadline: AbortSignal,
  ): Promise<{ status: ReportResponse['status'] | 'not-sent'; next?: Assignment[] }> {
    const report = { v: V, taskId: task.assignment.id, leaseId: task.assignment.lease.id, ...outcome } as ReportRequest
    for (let attempt = 1; !deadline.aborted; attempt++) {
      try {
        const response = await this.#node.rpc.request(task.scheduler, ReportProtocol.id, ReportProtocol,
          report, { timeoutMs: this.#requestTimeoutMs, signal: deadline })
        if (response.status === 'refused') this.#protocolError(REPORT_PROTOCOL, task.assignment.id, new Error('the scheduler refused the report: lease no longer held'))
        return { status: response.status, ...(response.next !== undefined ? { next: response.next } : {}) }
      } catch (err) {
        if (deadline.aborted) break
        // once per outage, not once per retry
        if (attempt === 1) this.#protocolError(REPORT_PROTOCOL, task.assignment.id, err)
        await sleep(Math.min(250 * 2 ** (attempt - 1), 5_000), deadline)
      }
    }
    return { status: 'not-sent' }
  }

  /** Asks `scheduler` for as many tasks as there are free slots; again while it keeps handing some out. */
  #pull(scheduler: PeerId): void {
    if (!this.#started || this.#freeSlots() <= 0) return
    const key = scheduler.toString()
    const inFlight = this.#pulling.get(key)
    if (inFlight !== undefined) {
      inFlight.again = true
      return
    }
    const state = { again: false }
    this.#pulling.set(key, state)
    void (async () => {
      let more = true
      while (more && this.#started && this.#freeSlots() > 0) {
        const max = Math.min(this.#freeSlots(), LIMITS.tasksPerPull)
        let response
        try {
          response = await this.#node.rpc.request(scheduler, PullProtocol.id, PullProtocol,
            { v: V, worker: this.capabilities(), max }, { timeoutMs: this.#requestTimeoutMs })
        } catch (err) {
          this.#protocolError(PULL_PROTOCOL, undefined, err)
          break
        }
        for (const assignment of response.tasks) this.#run(assignment, scheduler)
        // a full answer means more may be waiting; a short one that the backlog is empty for us,
        // unless a slot freed meanwhile and asked again
        more = response.tasks.length === max || state.again
        state.again = false
      }
      this.#pulling.delete(key)
    })()
  }

  #finished(
    task: RunningTask,
    outcome: TaskOutcome,
    extra: { result?: JsonValue; error?: string; reported: ReportResponse['status'] | 'not-sent' },
    next?: Assignment[],
  ): void {
    this.#running.delete(task.assignment.id)
    this.safeDispatchEvent('task:finished', {
      detail: { taskId: task.assignment.id, scheduler: task.scheduler.toString(), attempt: task.assignment.attempt, outcome, ...extra },
    })
    if (next !== undefined) {
      // the report brought the freed slot its next tasks; fewer than asked: the queue is empty for us
      for (const assignment of next) this.#run(assignment, task.scheduler)
      return
    }
    // no answer to ride on: ask for the next task at once, not on the next announcement
    if (outcome === 'succeeded' || outcome === 'failed') this.#pull(task.scheduler)
  }

  /** True (and the refusal announced) when `peer` may not act as a scheduler. */
  #refuseRole(peer: string, protocol: string): boolean {
    const reason = this.#roles.refusal(peer, 'scheduler')
    if (reason === undefined) return false
    this.safeDispatchEvent('role:refused', { detail: { peer, role: 'scheduler', protocol, reason } })
    return true
  }

  #protocolError(protocol: string, taskId: string | undefined, err: unknown): void {
    this.safeDispatchEvent('protocol:error', { detail: { protocol, ...(taskId !== undefined ? { taskId } : {}), error: errorText(err) } })
  }
}
