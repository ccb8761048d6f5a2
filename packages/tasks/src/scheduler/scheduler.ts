// The scheduler's allocation engine: accepts tasks into its TaskStore, announces pending ones,
// hands them to workers under leases (an offer for an announced task, or a pull for a free
// slot), and re-queues a task whose lease runs out. The task's life itself is lifecycle.ts; this
// file wires it to the store, the clock and the task protocol.
//
// Durability: with a persistent store a restarted scheduler resumes every task. Leases that ran
// out while it was away are extended by one lease (their workers kept running) and reports are
// idempotent by task id, so a crash loses nothing and stores each result once.
import { createHash, randomUUID } from 'node:crypto'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import { type RepeatingTask, repeatingTask } from '@libp2p/utils'
import type { ConnectedPeer, RequestResponse, TypedPubSub } from '@hypha/network-core'
import { serveInput } from '../protocol/input-stream.js'
import {
  ANNOUNCE_TOPIC,
  AnnouncementSchema,
  type Assignment,
  INPUT_PROTOCOL,
  type InputRequest,
  type LeaseResponse,
  LIMITS,
  OfferProtocol,
  type OfferRequest,
  type OfferResponse,
  ProgressProtocol,
  type ProgressRequest,
  PullProtocol,
  type PullRequest,
  type PullResponse,
  RenewProtocol,
  type RenewRequest,
  REPORT_PROTOCOL,
  ReportProtocol,
  type ReportRequest,
  type ReportResponse,
  type Requirements,
  TASK_PROTOCOL_VERSION,
  type TaskSubmission,
  WORKER_STATUS_TOPIC,
  type WorkerCapabilities,
  type WorkerStatus,
  WorkerStatusSchema,
} from '../protocol/messages.js'
import { canRun } from '../protocol/requirements.js'
import { Announcer } from './announcer.js'
import { type Leadership, SoleLeadership } from './leadership.js'
import { TaskConflictError, TaskFinishedError, TaskInputTooLargeError } from './errors.js'
import * as lifecycle from './lifecycle.js'
import { MemoryTaskStore } from './memory-task-store.js'
import { LEASED_STATES, type TaskCounts, type TaskListOptions, type TaskProgress, type TaskRecord, type TaskStore } from './task-store.js'
import { type TaskView, toTaskView, type WorkerView } from './views.js'
import { WorkerDirectory } from './worker-directory.js'
import { type PeerRoleSource, RoleCheck, type RoleRefusal } from '../protocol/roles.js'
import { InputPayloads } from './input-payloads.js'
import { ResultPayloads, type ResultPayloadService } from './result-payloads.js'

/** The part of HyphaNode the scheduler uses (tests can hand in a fake). */
export interface SchedulerNode {
  readonly peerId: PeerId
  readonly rpc: Pick<RequestResponse, 'handle' | 'unhandle'>
  readonly pubsub: Pick<TypedPubSub, 'topic'>
  readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'getMultiaddrs'>
  /** The node's bulk transfer service: without it, results delivered as files are refused. */
  readonly bulk?: ResultPayloadService | undefined
  /** Verified certificate roles of connected peers (the node's NodeIdentity); none: roles are not checked. */
  readonly identity?: PeerRoleSource | undefined
  connectedPeers(): ConnectedPeer[]
}

export interface Clock {
  now(): number
}

export interface SchedulerOptions {
  /** @default a MemoryTaskStore (nothing survives a restart) */
  store?: TaskStore
  /** Lease granted per assignment and per renewal. @default 10_000 */
  leaseMs?: number
  /** Attempts (assignments) before a task fails for good. @default 3 */
  maxAttempts?: number
  /** Pending tasks are announced again this often until assigned. @default 1_000 */
  announceIntervalMs?: number
  /** How often expired leases are looked for. @default min(leaseMs / 4, 1_000) */
  leaseCheckIntervalMs?: number
  /** Accept peers whose certificate names no role as workers (migration). @default true */
  allowRolelessPeers?: boolean
  /** Largest result file a worker may deliver (over bulk transfer). @default 4 GiB */
  maxResultBytes?: number
  /** Largest task input accepted by submit(). @default 64 MiB */
  maxInputBytes?: number
  /** Input transfers served at once (all workers together); excess ones are refused as busy. @default 16 */
  maxConcurrentInputStreams?: number
  /** Time allowed for one input transfer. @default 60_000 */
  inputStreamTimeoutMs?: number
  /** Pending tasks announced per round at most (rounds rotate through a larger backlog). @default 256 */
  maxAnnouncedPerRound?: number
  /** Concurrent handlers per task rpc protocol. @default 64 */
  maxConcurrentRequests?: number
  /** Finished tasks are kept this long, then pruned. @default 7 days */
  retentionMs?: number
  /** How often finished tasks past retention are pruned. @default min(retentionMs / 10, 60_000) */
  pruneIntervalMs?: number
  /** Which replica runs the allocation loop. @default this one, always (a single scheduler) */
  leadership?: Leadership
  /** The task set's id, announced so workers follow a fail-over between replicas. */
  group?: string
  clock?: Clock
}

/** What submit() accepts: the HTTP body (TaskSubmission) or raw bytes. */
export interface TaskSpec {
  id?: string
  executor: string
  input: string | Uint8Array | { base64: string }
  requirements?: Requirements
  timeoutMs?: number
  maxAttempts?: number
}

export interface SubmitResult {
  id: string
  /** False when a task with this id already existed (the submission was idempotent). */
  created: boolean
}

export type OfferAnswer = 'assigned' | Extract<OfferResponse, { assigned: false }>['reason']

export interface SchedulerEvents {
  'task:submitted': CustomEvent<TaskView>
  'task:assigned': CustomEvent<TaskView>
  'task:running': CustomEvent<TaskView>
  'task:progress': CustomEvent<TaskView>
  'task:requeued': CustomEvent<TaskView & { reason: string }>
  'task:succeeded': CustomEvent<TaskView>
  'task:failed': CustomEvent<TaskView>
  /** An offer was answered: `assigned`, or why not. Offers per assignment show how many idle workers raced for each task. */
  'offer:answered': CustomEvent<{ taskId: string; peer: string; answer: OfferAnswer }>
  'worker:seen': CustomEvent<WorkerView>
  /** A message or transfer the scheduler refused or could not complete (never silent). */
  'protocol:error': CustomEvent<{ protocol: string; peer?: string; error: string }>
  /** A peer acted as a worker without a worker certificate: refused. */
  'role:refused': CustomEvent<RoleRefusal>
}

const V = TASK_PROTOCOL_VERSION
const DAY_MS = 24 * 3600 * 1000
/** Pending tasks a pull looks through for ones the worker can run, a page at a time. */
const PULL_SCAN = 256
const PULL_PAGE = 32
/** Inline input bytes one pull response carries at most (the rpc message limit is 1 MiB by default). */
const PULL_INLINE_BUDGET = 256 * 1024
/** Rows per maintenance batch (lease expiry, pruning): bounded work per turn. */
const BATCH = 500

function inputBytes(input: TaskSpec['input']): { bytes: Uint8Array; kind: 'text' | 'bytes' } {
  if (typeof input === 'string') return { bytes: new TextEncoder().encode(input), kind: 'text' }
  if (input instanceof Uint8Array) return { bytes: input, kind: 'bytes' }
  return { bytes: new Uint8Array(Buffer.from(input.base64, 'base64')), kind: 'bytes' }
}

export class Scheduler extends TypedEventEmitter<SchedulerEvents> {
  readonly store: TaskStore
  readonly #node: SchedulerNode
  readonly #clock: Clock
  readonly #leaseMs: number
  readonly #maxAttempts: number
  readonly #announceIntervalMs: number
  readonly #leaseCheckIntervalMs: number
  readonly #maxInputBytes: number
  readonly #maxInputStreams: number
  readonly #inputStreamTimeoutMs: number
  readonly #maxConcurrentRequests: number
  readonly #maxAnnouncedPerRound: number
  readonly #retentionMs: number
  readonly #pruneIntervalMs: number
  readonly #workers = new WorkerDirectory()
  readonly #leadership: Leadership
  readonly #group: string | undefined
  #transition: Promise<void> = Promise.resolve()
  /** The leader's loops (announce, lease check, prune): each runs again an interval after it finished, never twice at once. */
  readonly #loops: RepeatingTask[] = []
  #announcer: Announcer | undefined
  #unsubscribe: (() => void) | undefined
  #checkingLeases: Promise<number> | undefined
  #pruning: Promise<number> | undefined
  #activeInputStreams = 0
  /** Results delivered as files (when the node has bulk transfer). */
  readonly #results: ResultPayloads | undefined
  /** Inputs pulled as files (when the node has bulk transfer). */
  readonly #inputs: InputPayloads | undefined
  /** Only workers may offer, pull, renew, report, fetch inputs and deliver results. */
  readonly #roles: RoleCheck
  #started = false
  #stopController = new AbortController()

  constructor(node: SchedulerNode, options: SchedulerOptions = {}) {
    super()
    this.#node = node
    this.store = options.store ?? new MemoryTaskStore()
    this.#clock = options.clock ?? { now: () => Date.now() }
    this.#leaseMs = options.leaseMs ?? 10_000
    this.#maxAttempts = options.maxAttempts ?? 3
    this.#announceIntervalMs = options.announceIntervalMs ?? 1_000
    this.#leaseCheckIntervalMs = options.leaseCheckIntervalMs ?? Math.min(Math.max(Math.floor(this.#leaseMs / 4), 10), 1_000)
    this.#maxInputBytes = options.maxInputBytes ?? 64 * 1024 * 1024
    this.#maxInputStreams = options.maxConcurrentInputStreams ?? 16
    this.#inputStreamTimeoutMs = options.inputStreamTimeoutMs ?? 60_000
    this.#maxConcurrentRequests = options.maxConcurrentRequests ?? 64
    this.#maxAnnouncedPerRound = options.maxAnnouncedPerRound ?? 256
    this.#retentionMs = options.retentionMs ?? 7 * DAY_MS
    this.#pruneIntervalMs = options.pruneIntervalMs ?? Math.min(Math.max(Math.floor(this.#retentionMs / 10), 1_000), 60_000)
    this.#roles = new RoleCheck(node.identity, options.allowRolelessPeers ?? true)
    if (node.bulk !== undefined) {
      const results = new ResultPayloads({
        bulk: node.bulk,
        store: this.store,
        maxBytes: options.maxResultBytes ?? 4 * 1024 ** 3,
        now: () => this.#clock.now(),
        authorizePeer: (peer) => (this.#refusedRole(peer, 'bulk') ? 'only a worker delivers task results' : undefined),
      })
      const inputs = new InputPayloads({
        bulk: node.bulk,
        store: this.store,
        taskOfLease: (leaseId) => results.taskOfLease(leaseId),
        authorizePeer: (peer) => (this.#refusedRole(peer, 'bulk') ? 'only a worker fetches task inputs' : undefined),
      })
      // workers push results and pull inputs; nobody else may do either
      node.bulk.setAccessPolicy((request) => (request.op === 'pull' ? inputs.authorize(request) : results.authorize(request)))
      this.#results = results
      this.#inputs = inputs
    }
    this.#leadership = options.leadership ?? new SoleLeadership(node.peerId.toString())
    this.#group = options.group
    this.#leadership.addEventListener('change', ({ detail: leading }) => {
      this.#transition = this.#transition.then(() => (leading ? this.#lead() : this.#follow()))
    })
  }

  /** 'leader' runs the allocation loop; a 'standby' serves reads, submissions and workers' requests. */
  get role(): 'leader' | 'standby' {
    return this.#leadership.leading ? 'leader' : 'standby'
  }

  /** The replica leading now (this one, or what the store says), when known. */
  async leader(): Promise<string | undefined> {
    return this.#leadership.leader()
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#stopController = new AbortController()
    const limit = { maxConcurrent: this.#maxConcurrentRequests }
    const rpc = this.#node.rpc
    await rpc.handle(OfferProtocol.id, OfferProtocol, (req, ctx) => this.handleOffer(ctx.peer.toString(), req), limit)
    await rpc.handle(PullProtocol.id, PullProtocol, (req, ctx) => this.handlePull(ctx.peer.toString(), req), limit)
    await rpc.handle(RenewProtocol.id, RenewProtocol, (req, ctx) => this.handleRenew(ctx.peer.toString(), req), limit)
    await rpc.handle(ProgressProtocol.id, ProgressProtocol, (req, ctx) => this.handleProgress(ctx.peer.toString(), req), limit)
    await rpc.handle(ReportProtocol.id, ReportProtocol, (req, ctx) => this.handleReport(ctx.peer.toString(), req), limit)
    await this.#node.libp2p.handle(INPUT_PROTOCOL, (stream, connection) => {
      const peer = connection.remotePeer.toString()
      if (this.#activeInputStreams >= this.#maxInputStreams) {
        void serveInput(stream, async () => 'busy', { signal: AbortSignal.timeout(5_000) })
        return
      }
      this.#activeInputStreams++
      const signal = AbortSignal.any([AbortSignal.timeout(this.#inputStreamTimeoutMs), this.#stopController.signal])
      void serveInput(stream, (request) => this.#inputFor(peer, request), { signal })
        .finally(() => { this.#activeInputStreams-- })
    }, { runOnLimitedConnection: true, maxInboundStreams: this.#maxInputStreams })

    const announceTopic = this.#node.pubsub.topic(ANNOUNCE_TOPIC, AnnouncementSchema)
    this.#announcer = new Announcer({
      store: this.store,
      topic: announceTopic,
      scheduler: this.#node.peerId.toString(),
      ...(this.#group !== undefined ? { group: this.#group } : {}),
      addresses: () => this.#node.libp2p.getMultiaddrs().map((a) => a.toString()),
      maxPerRound: this.#maxAnnouncedPerRound,
      signal: this.#stopController.signal,
      onError: (err) => this.#protocolError(ANNOUNCE_TOPIC, undefined, String(err)),
    })
    // Joining the topic (with a no-op handler) keeps this node in the announcement mesh.
    const unsubscribeAnnounce = announceTopic.subscribe(() => undefined)
    const statusTopic = this.#node.pubsub.topic(WORKER_STATUS_TOPIC, WorkerStatusSchema)
    const unsubscribeStatus = statusTopic.subscribe((status: WorkerStatus, from) => {
      // a status of a peer whose certificate says it is no worker is not one of a worker
      if (this.#roles.mayBe(from.toString(), 'worker')) this.#sawWorker(from.toString(), status.worker)
    })
    this.#unsubscribe = () => { unsubscribeAnnounce(); unsubscribeStatus() }
    await this.#leadership.start()
    await this.#transition
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#stopController.abort(new Error('scheduler stopped'))
    await this.#leadership.stop()
    await this.#transition
    for (const loop of this.#loops.splice(0)) loop.stop()
    this.#unsubscribe?.()
    const rpc = this.#node.rpc
    await Promise.allSettled([
      ...[OfferProtocol, PullProtocol, RenewProtocol, ProgressProtocol, ReportProtocol].map((p) => rpc.unhandle(p.id)),
      this.#node.libp2p.unhandle(INPUT_PROTOCOL),
    ])
    await Promise.allSettled([this.#announcer?.idle(), this.#checkingLeases, this.#pruning])
  }

  // ---- the API the app calls ----

  /**
   * Accepts a task. With a caller-supplied id the call is idempotent: the same id with the same
   * executor and input returns `{ created: false }`; with a different one it throws TaskConflictError.
   */
  async submit(spec: TaskSpec | TaskSubmission): Promise<SubmitResult> {
    const { bytes, kind } = inputBytes(spec.input)
    if (bytes.byteLength > this.#maxInputBytes) throw new TaskInputTooLargeError(bytes.byteLength, this.#maxInputBytes)
    const now = this.#clock.now()
    const record: TaskRecord = {
      id: spec.id ?? randomUUID(),
      executor: spec.executor,
      inputSize: bytes.byteLength,
      inputKind: kind,
      inputDigest: createHash('sha256').update(bytes).digest('hex'),
      maxAttempts: spec.maxAttempts ?? this.#maxAttempts,
      state: 'pending',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    }
    if (spec.requirements !== undefined) record.requirements = spec.requirements
    if (spec.timeoutMs !== undefined) record.timeoutMs = spec.timeoutMs
    const { inserted, record: stored } = await this.store.insert(record, bytes)
    if (!inserted) {
      if (stored.executor !== record.executor || stored.inputDigest !== record.inputDigest) throw new TaskConflictError(record.id)
      return { id: stored.id, created: false }
    }
    this.safeDispatchEvent('task:submitted', { detail: toTaskView(stored) })
    this.#announceSoon()
    return { id: stored.id, created: true }
  }

  async getTask(id: string): Promise<TaskView | undefined> {
    const record = await this.store.get(id)
    return record === undefined ? undefined : toTaskView(record)
  }

  /**
   * Cancels a task that has not finished: it fails at once with `cancelled: <reason>`, and its
   * worker, whose next renewal (every lease/3) or progress is answered 'lost', stops the job.
   * Undefined for an unknown task; TaskFinishedError for one that already finished.
   */
  async cancel(id: string, reason = 'by request'): Promise<TaskView | undefined> {
    const now = this.#clock.now()
    let leaseId: string | undefined
    const updated = await this.store.update(id, (task) => {
      leaseId = task.lease?.id
      return lifecycle.cancel(task, reason, now)
    })
    if (updated === undefined) {
      const current = await this.store.get(id)
      if (current === undefined) return undefined
      throw new TaskFinishedError(id, current.state)
    }
    if (leaseId !== undefined) this.#results?.forget(leaseId)
    this.#announceChange(updated, 'cancelled')
    return toTaskView(updated)
  }

  /** Where a task's result file is, when it succeeded with one (and the file is still kept). */
  async resultFile(id: string): Promise<{ path: string; size: number; sha256: string } | undefined> {
    const record = await this.store.get(id)
    if (record?.state !== 'succeeded' || record.resultPayload === undefined || this.#results === undefined) return undefined
    const { name, size, sha256 } = record.resultPayload
    return { path: this.#results.pathOf(name), size, sha256 }
  }

  async listTasks(options: TaskListOptions = {}): Promise<TaskView[]> {
    return (await this.store.list(options)).map(toTaskView)
  }

  async taskCounts(): Promise<TaskCounts> {
    return this.store.counts()
  }

  /** Workers known from status messages, offers and pulls, with how they are connected now. */
  workers(): WorkerView[] {
    // a status heard through the mesh before its author was verified is dropped here once its
    // certificate turns out to be no worker's
    return this.#workers.list(this.#node.connectedPeers()).filter((worker) => this.#roles.mayBe(worker.id, 'worker'))
  }

  /** Re-queues (or fails) every task whose lease has expired; returns how many. Runs on a timer too. */
  async checkLeases(): Promise<number> {
    if (this.#checkingLeases !== undefined) return this.#checkingLeases
    this.#checkingLeases = this.#expireLeases().finally(() => { this.#checkingLeases = undefined })
    return this.#checkingLeases
  }

  /** Deletes finished tasks older than the retention; returns how many. Runs on a timer too. */
  async prune(): Promise<number> {
    if (this.#pruning !== undefined) return this.#pruning
    this.#pruning = (async () => {
      const before = this.#clock.now() - this.#retentionMs
      let total = 0
      for (;;) {
        const pruned = await this.store.prune(before, BATCH)
        total += pruned
        if (pruned < BATCH || !this.#started) break
      }
      // result files of tasks past retention, and pushes that never finished
      await this.#results?.sweep(before).catch((err: unknown) => this.#protocolError('bulk', undefined, `result sweep failed: ${String(err)}`))
      await this.#inputs?.sweep(before).catch((err: unknown) => this.#protocolError('bulk', undefined, `input sweep failed: ${String(err)}`))
      return total
    })().finally(() => { this.#pruning = undefined })
    return this.#pruning
  }

  // ---- protocol handlers (public so they can be driven without a network in tests) ----

  async handleOffer(peer: string, offer: OfferRequest): Promise<OfferResponse> {
    const response = await this.#answerOffer(peer, offer)
    this.safeDispatchEvent('offer:answered', {
      detail: { taskId: offer.taskId, peer, answer: response.assigned ? 'assigned' : response.reason },
    })
    return response
  }

  async #answerOffer(peer: string, offer: OfferRequest): Promise<OfferResponse> {
    if (this.#refusedRole(peer, OfferProtocol.id)) return { v: V, assigned: false, reason: 'not-eligible' }
    this.#sawWorker(peer, offer.worker)
    if (!this.#started) return { v: V, assigned: false, reason: 'stopping' }
    let refusal: 'taken' | 'not-eligible' = 'taken'
    const grant = { leaseId: randomUUID(), now: this.#clock.now(), leaseMs: this.#leaseMs }
    const updated = await this.store.update(offer.taskId, (task) => {
      const outcome = lifecycle.assign(task, peer, offer.worker, grant)
      if (outcome.ok) return outcome.record
      refusal = outcome.reason
      return undefined
    })
    if (updated === undefined) {
      const exists = await this.store.get(offer.taskId)
      return { v: V, assigned: false, reason: exists === undefined ? 'unknown-task' : refusal }
    }
    return { v: V, assigned: true, task: await this.#assigned(updated) }
  }

  /** Up to `max` of the oldest pending tasks this worker can run, each assigned to it. */
  async handlePull(peer: string, pull: PullRequest): Promise<PullResponse> {
    if (this.#refusedRole(peer, PullProtocol.id)) return { v: V, tasks: [] }
    this.#sawWorker(peer, pull.worker)
    if (!this.#started) return { v: V, tasks: [], reason: 'stopping' }
    return { v: V, tasks: await this.#assignNext(peer, pull.worker, pull.max) }
  }

  async handleRenew(peer: string, request: RenewRequest): Promise<LeaseResponse> {
    if (this.#refusedRole(peer, RenewProtocol.id)) return { v: V, status: 'lost' }
    return this.#extendLease(peer, request.taskId, request.leaseId, undefined)
  }

  /** Progress also proves the worker alive, so it renews the lease as well. */
  async handleProgress(peer: string, request: ProgressRequest): Promise<LeaseResponse> {
    if (this.#refusedRole(peer, ProgressProtocol.id)) return { v: V, status: 'lost' }
    const progress = { at: this.#clock.now(), ...(request.fraction !== undefined ? { fraction: request.fraction } : {}),
      ...(request.message !== undefined ? { message: request.message } : {}) }
    return this.#extendLease(peer, request.taskId, request.leaseId, progress)
  }

  async handleReport(peer: string, report: ReportRequest): Promise<ReportResponse> {
    if (this.#refusedRole(peer, ReportProtocol.id)) return { v: V, status: 'refused' }
    let status: ReportResponse['status'] = 'refused'
    const message = await this.#checkResultPayload(report)
    const now = this.#clock.now()
    const updated = await this.store.update(message.taskId, (task) => {
      const outcome = lifecycle.report(task, peer, message, now)
      status = outcome.status
      return outcome.record
    })
    if (status === 'refused') {
      this.#protocolError(REPORT_PROTOCOL, peer, `report for ${message.taskId} from a peer without its lease`)
    }
    // the attempt is over: its payload is the task's result, or of no use to anyone
    if (report.outcome === 'succeeded' && report.payload !== undefined && ((status as ReportResponse['status']) !== 'accepted' || message.outcome !== 'succeeded')) {
      await this.#results?.discard(report.leaseId).catch(() => undefined)
    }
    this.#results?.forget(report.leaseId)
    // the attempt is over: its input file, if it had one, goes
    if (updated !== undefined) await this.#inputs?.discard(updated, report.leaseId).catch(() => undefined)
    if (updated !== undefined) this.#announceChange(updated, message.outcome === 'released' ? 'released by the worker' : 'failed (retryable)')
    if (message.next === undefined) return { v: V, status }
    this.#sawWorker(peer, message.next.worker)
    const next = this.#started ? await this.#assignNext(peer, message.next.worker, message.next.max) : []
    return { v: V, status, next }
  }

  // ---- internals ----

  /**
   * A success that names a result file is a success only if the file is here with those bytes;
   * otherwise it is a retryable failure of the attempt (the worker's push failed or lied).
   */
  async #checkResultPayload(report: ReportRequest): Promise<ReportRequest> {
    if (report.outcome !== 'succeeded' || report.payload === undefined) return report
    const { payload, result: _result, ...rest } = report
    if (this.#results === undefined) {
      return { ...rest, outcome: 'failed', retryable: false, error: 'the result is a file, and this scheduler was started without a payload directory to take it' }
    }
    if (await this.#results.holds(report.leaseId, payload)) return report
    return { ...rest, outcome: 'failed', retryable: true, error: `the result file (${payload.size} bytes, sha256 ${payload.sha256}) did not reach the scheduler` }
  }

  /** Became the leader: leases that lapsed while no one led get one more, then the loop runs. */
  async #lead(): Promise<void> {
    if (!this.#started) return
    await this.#resumeLeases()
    if (!this.#started || !this.#leadership.leading) return
    this.#loops.push(
      repeatingTask(() => this.#announcer?.request(), this.#announceIntervalMs),
      // repeatingTask swallows a failed run: say it, then the next run tries again
      repeatingTask(async () => { await this.checkLeases().catch((err: unknown) => this.#protocolError('lease-check', undefined, String(err))) }, this.#leaseCheckIntervalMs),
      repeatingTask(async () => { await this.prune().catch((err: unknown) => this.#protocolError('prune', undefined, String(err))) }, this.#pruneIntervalMs),
    )
    for (const loop of this.#loops) loop.start()
    this.#announcer?.request()
  }

  /** Only the leader announces (a standby's submissions are the leader's next round). */
  #announceSoon(): void {
    if (this.#leadership.leading) this.#announcer?.request()
  }

  /** Not the leader any more: the loop stops (requests are still served). */
  async #follow(): Promise<void> {
    for (const loop of this.#loops.splice(0)) loop.stop()
  }

  /** Assigns up to `max` of the oldest pending tasks `worker` can run to it. */
  async #assignNext(peer: string, worker: WorkerCapabilities, max: number): Promise<Assignment[]> {
    const tasks: Assignment[] = []
    let inlineBudget = PULL_INLINE_BUDGET
    let after: string | undefined
    for (let scanned = 0; scanned < PULL_SCAN && tasks.length < max;) {
      const page = await this.store.list({ states: ['pending'], limit: PULL_PAGE, ...(after !== undefined ? { after } : {}) })
      scanned += page.length
      after = page.at(-1)?.id
      for (const candidate of page) {
        if (tasks.length >= max) break
        if (!canRun(candidate, worker)) continue
        const inline = candidate.inputSize <= LIMITS.inlineInputBytes ? candidate.inputSize : 0
        if (tasks.length > 0 && inline > inlineBudget) return tasks
        const grant = { leaseId: randomUUID(), now: this.#clock.now(), leaseMs: this.#leaseMs }
        const updated = await this.store.update(candidate.id, (task) => {
          const outcome = lifecycle.assign(task, peer, worker, grant)
          return outcome.ok ? outcome.record : undefined
        })
        if (updated === undefined) continue // taken meanwhile
        inlineBudget -= inline
        tasks.push(await this.#assigned(updated))
      }
      if (page.length < PULL_PAGE) break
    }
    return tasks
  }

  /** The wire assignment of a task just assigned (its input inline when small). */
  async #assigned(record: TaskRecord): Promise<Assignment> {
    this.safeDispatchEvent('task:assigned', { detail: toTaskView(record) })
    const lease = record.lease as NonNullable<TaskRecord['lease']>
    this.#results?.track(lease.id, record.id)
    const inline = record.inputSize <= LIMITS.inlineInputBytes ? await this.store.input(record.id) : undefined
    return {
      id: record.id,
      executor: record.executor,
      input: {
        kind: record.inputKind,
        size: record.inputSize,
        ...(inline !== undefined ? { inline: Buffer.from(inline).toString('base64') } : {}),
      },
      ...(record.timeoutMs !== undefined ? { timeoutMs: record.timeoutMs } : {}),
      attempt: record.attempts,
      lease: { id: lease.id, ttlMs: this.#leaseMs },
    }
  }

  async #extendLease(peer: string, taskId: string, leaseId: string, progress: TaskProgress | undefined): Promise<LeaseResponse> {
    const now = this.#clock.now()
    let becameRunning = false
    const updated = await this.store.update(taskId, (task) => {
      const next = lifecycle.renew(task, peer, leaseId, { now, leaseMs: this.#leaseMs, ...(progress !== undefined ? { progress } : {}) })
      becameRunning = next !== undefined && task.state === 'assigned'
      return next
    })
    if (updated === undefined) return { v: V, status: 'lost' }
    if (becameRunning) this.safeDispatchEvent('task:running', { detail: toTaskView(updated) })
    if (progress !== undefined) this.safeDispatchEvent('task:progress', { detail: toTaskView(updated) })
    return { v: V, status: 'renewed', ttlMs: this.#leaseMs }
  }

  #announceChange(record: TaskRecord, reason: string): void {
    if (record.state === 'pending') {
      this.safeDispatchEvent('task:requeued', { detail: { ...toTaskView(record), reason } })
      this.#announceSoon()
    } else if (record.state === 'succeeded') {
      this.safeDispatchEvent('task:succeeded', { detail: toTaskView(record) })
    } else if (record.state === 'failed') {
      this.safeDispatchEvent('task:failed', { detail: toTaskView(record) })
    }
  }

  async #expireLeases(): Promise<number> {
    let expired = 0
    for (;;) {
      const now = this.#clock.now()
      const batch = await this.store.expiredLeases(now, BATCH)
      for (const candidate of batch) {
        const updated = await this.store.update(candidate.id, (task) => lifecycle.expire(task, now))
        if (updated === undefined) continue
        if (candidate.lease !== undefined) await this.#inputs?.discard(candidate, candidate.lease.id).catch(() => undefined)
        expired++
        this.#announceChange(updated, 'lease expired')
      }
      if (batch.length < BATCH) return expired
    }
  }

  /** On start: leases that lapsed (or nearly) while this scheduler was away get one more lease. */
  async #resumeLeases(): Promise<void> {
    const now = this.#clock.now()
    let after: string | undefined
    for (;;) {
      const page = await this.store.list({ states: LEASED_STATES, limit: BATCH, ...(after !== undefined ? { after } : {}) })
      for (const task of page) await this.store.update(task.id, (current) => lifecycle.extendAfterAbsence(current, now, this.#leaseMs))
      if (page.length < BATCH) return
      after = page.at(-1)?.id
    }
  }

  async #inputFor(peer: string, request: InputRequest): Promise<Uint8Array | 'no-lease'> {
    if (this.#refusedRole(peer, INPUT_PROTOCOL)) return 'no-lease'
    const task = await this.store.get(request.taskId)
    const input = task !== undefined && lifecycle.holdsLease(task, peer, request.leaseId) ? await this.store.input(task.id) : undefined
    if (input === undefined) {
      this.#protocolError(INPUT_PROTOCOL, peer, `input of ${request.taskId} asked for without its lease`)
      return 'no-lease'
    }
    return input
  }

  /** Runs on every offer, pull and report: the connection list is read only when someone listens. */
  #sawWorker(peer: string, capabilities: WorkerCapabilities): void {
    this.#workers.saw(peer, capabilities, this.#clock.now())
    if (this.listenerCount('worker:seen') === 0) return
    const view = this.#workers.view(peer, this.#node.connectedPeers())
    if (view !== undefined) this.safeDispatchEvent('worker:seen', { detail: view })
  }

  /** True (and the refusal announced) when `peer` may not act as a worker. */
  #refusedRole(peer: string, protocol: string): boolean {
    const reason = this.#roles.refusal(peer, 'worker')
    if (reason === undefined) return false
    this.safeDispatchEvent('role:refused', { detail: { peer, role: 'worker', protocol, reason } })
    return true
  }

  #protocolError(protocol: string, peer: string | undefined, error: string): void {
    this.safeDispatchEvent('protocol:error', { detail: { protocol, ...(peer !== undefined ? { peer } : {}), error } })
  }
}
