// The scheduler's allocation engine: accepts tasks, announces pending ones on GossipSub, assigns
// each to the first eligible offering worker under a lease, and re-queues it when the lease runs out.
// Limits: one scheduler per task set (no scheduler fail-over); offers are first come, first served.
import { createHash, randomUUID } from 'node:crypto'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import type { ConnectedPeer, HandlerContext, RequestResponse, TypedPubSub, TypedTopic } from '@hypha/network-core'
import { serveInput } from '../protocol/input-stream.js'
import {
  ANNOUNCE_TOPIC,
  type Announcement,
  AnnouncementSchema,
  type InputRequest,
  INPUT_PROTOCOL,
  type JsonValue,
  type LeaseResponse,
  LeaseResponseSchema,
  LIMITS,
  OFFER_PROTOCOL,
  type OfferRequest,
  OfferRequestSchema,
  type OfferResponse,
  OfferResponseSchema,
  PROGRESS_PROTOCOL,
  type ProgressRequest,
  ProgressRequestSchema,
  RENEW_PROTOCOL,
  type RenewRequest,
  RenewRequestSchema,
  REPORT_PROTOCOL,
  type ReportRequest,
  ReportRequestSchema,
  type ReportResponse,
  ReportResponseSchema,
  type Requirements,
  TASK_PROTOCOL_VERSION,
  type TaskSubmission,
  type WorkerCapabilities,
  WORKER_STATUS_TOPIC,
  type WorkerStatus,
  WorkerStatusSchema,
  type Labels,
} from '../protocol/messages.js'
import { MemoryTaskStore } from './memory-task-store.js'
import { FINISHED_STATES, type TaskRecord, type TaskState, type TaskStore } from './task-store.js'

/** The part of HyphaNode the scheduler uses (tests can hand in a fake). */
export interface SchedulerNode {
  readonly peerId: PeerId
  readonly rpc: Pick<RequestResponse, 'handle' | 'unhandle'>
  readonly pubsub: Pick<TypedPubSub, 'topic'>
  readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'getMultiaddrs'>
  connectedPeers(): ConnectedPeer[]
}

export interface Clock {
  now(): number
}

export interface SchedulerOptions {
  store?: TaskStore
  /** Lease granted per assignment and per renewal. @default 10_000 */
  leaseMs?: number
  /** Attempts (assignments) before a task fails for good. @default 3 */
  maxAttempts?: number
  /** Pending tasks are announced again this often until assigned. @default 1_000 */
  announceIntervalMs?: number
  /** How often expired leases are looked for. @default min(leaseMs / 4, 1_000) */
  leaseCheckIntervalMs?: number
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

/** A task as the API shows it (no input bytes). */
export interface TaskView {
  id: string
  executor: string
  state: TaskState
  attempts: number
  maxAttempts: number
  worker?: string
  inputSize: number
  requirements?: Requirements
  timeoutMs?: number
  leaseExpiresAt?: number
  progress?: { fraction?: number; message?: string; at: number }
  result?: JsonValue
  error?: string
  createdAt: number
  updatedAt: number
}

export interface WorkerView {
  id: string
  executors: string[]
  capacity: number
  running: number
  labels: Labels
  /** 'quic' | 'tcp' | 'relay' | 'other' while connected, 'disconnected' otherwise. */
  connection: ConnectedPeer['transport'] | 'disconnected'
  direct: boolean
  lastSeen: number
}

export interface SubmitResult {
  id: string
  /** False when a task with this id already existed (the submission was idempotent). */
  created: boolean
}

export interface SchedulerEvents {
  'task:submitted': CustomEvent<TaskView>
  'task:assigned': CustomEvent<TaskView>
  'task:running': CustomEvent<TaskView>
  'task:progress': CustomEvent<TaskView>
  'task:requeued': CustomEvent<TaskView & { reason: string }>
  'task:succeeded': CustomEvent<TaskView>
  'task:failed': CustomEvent<TaskView>
  'worker:seen': CustomEvent<WorkerView>
  /** A message or transfer the scheduler refused or could not complete (never silent). */
  'protocol:error': CustomEvent<{ protocol: string; peer?: string; error: string }>
}

/** submit() with an existing id but a different executor or input. */
export class TaskConflictError extends Error {
  override readonly name = 'TaskConflictError'
  readonly taskId: string

  constructor(taskId: string) {
    super(`task ${taskId} already exists with a different executor or input`)
    this.taskId = taskId
  }
}

/** submit() with an input larger than maxInputBytes. */
export class TaskInputTooLargeError extends Error {
  override readonly name = 'TaskInputTooLargeError'

  constructor(size: number, limit: number) {
    super(`task input of ${size} bytes exceeds the limit of ${limit} bytes`)
  }
}

const V = TASK_PROTOCOL_VERSION

export function toTaskView(record: TaskRecord): TaskView {
  const view: TaskView = {
    id: record.id,
    executor: record.executor,
    state: record.state,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    inputSize: record.input.byteLength,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  }
  if (record.worker !== undefined) view.worker = record.worker
  if (record.requirements !== undefined) view.requirements = record.requirements
  if (record.timeoutMs !== undefined) view.timeoutMs = record.timeoutMs
  if (record.lease !== undefined) view.leaseExpiresAt = record.lease.expiresAt
  if (record.progress !== undefined) view.progress = record.progress
  if (record.result !== undefined) view.result = record.result
  if (record.error !== undefined) view.error = record.error
  return view
}

function inputBytes(input: TaskSpec['input']): { bytes: Uint8Array; kind: 'text' | 'bytes' } {
  if (typeof input === 'string') return { bytes: new TextEncoder().encode(input), kind: 'text' }
  if (input instanceof Uint8Array) return { bytes: input, kind: 'bytes' }
  return { bytes: new Uint8Array(Buffer.from(input.base64, 'base64')), kind: 'bytes' }
}

function eligible(requirements: Requirements | undefined, labels: Labels): boolean {
  for (const [key, value] of Object.entries(requirements?.labels ?? {})) if (labels[key] !== value) return false
  return true
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
  #announceCursor = 0
  readonly #workers = new Map<string, Omit<WorkerView, 'connection' | 'direct'>>()
  #announceTopic: TypedTopic<Announcement> | undefined
  #unsubscribeStatus: (() => void) | undefined
  #announceTimer: ReturnType<typeof setInterval> | undefined
  #leaseTimer: ReturnType<typeof setInterval> | undefined
  #announcing: Promise<void> | undefined
  #announceAgain = false
  #checkingLeases: Promise<number> | undefined
  #activeInputStreams = 0
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
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#stopController = new AbortController()
    const limit = { maxConcurrent: this.#maxConcurrentRequests }
    const rpc = this.#node.rpc
    await rpc.handle(OFFER_PROTOCOL, { request: OfferRequestSchema, response: OfferResponseSchema },
      (req, ctx) => this.handleOffer(ctx.peer.toString(), req), limit)
    await rpc.handle(RENEW_PROTOCOL, { request: RenewRequestSchema, response: LeaseResponseSchema },
      (req, ctx) => this.handleRenew(ctx.peer.toString(), req), limit)
    await rpc.handle(PROGRESS_PROTOCOL, { request: ProgressRequestSchema, response: LeaseResponseSchema },
      (req, ctx) => this.handleProgress(ctx.peer.toString(), req), limit)
    await rpc.handle(REPORT_PROTOCOL, { request: ReportRequestSchema, response: ReportResponseSchema },
      (req, ctx: HandlerContext) => this.handleReport(ctx.peer.toString(), req), limit)
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

    this.#announceTopic = this.#node.pubsub.topic(ANNOUNCE_TOPIC, AnnouncementSchema)
    // Joining the topic (with a no-op handler) keeps this node in the announcement mesh.
    const unsubscribeAnnounce = this.#announceTopic.subscribe(() => undefined)
    const statusTopic = this.#node.pubsub.topic(WORKER_STATUS_TOPIC, WorkerStatusSchema)
    const unsubscribeStatus = statusTopic.subscribe((status: WorkerStatus, from) => { this.#sawWorker(from.toString(), status.worker) })
    this.#unsubscribeStatus = () => { unsubscribeAnnounce(); unsubscribeStatus() }
    this.#announceTimer = setInterval(() => this.#requestAnnounce(), this.#announceIntervalMs)
    this.#leaseTimer = setInterval(() => { void this.checkLeases() }, this.#leaseCheckIntervalMs)
    this.#requestAnnounce()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#stopController.abort(new Error('scheduler stopped'))
    clearInterval(this.#announceTimer)
    clearInterval(this.#leaseTimer)
    this.#unsubscribeStatus?.()
    const rpc = this.#node.rpc
    await Promise.allSettled([
      rpc.unhandle(OFFER_PROTOCOL),
      rpc.unhandle(RENEW_PROTOCOL),
      rpc.unhandle(PROGRESS_PROTOCOL),
      rpc.unhandle(REPORT_PROTOCOL),
      this.#node.libp2p.unhandle(INPUT_PROTOCOL),
    ])
    await Promise.allSettled([this.#announcing, this.#checkingLeases])
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
      input: bytes,
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
    const { inserted, record: stored } = await this.store.insert(record)
    if (!inserted) {
      if (stored.executor !== record.executor || stored.inputDigest !== record.inputDigest) throw new TaskConflictError(record.id)
      return { id: stored.id, created: false }
    }
    this.safeDispatchEvent('task:submitted', { detail: toTaskView(stored) })
    this.#requestAnnounce()
    return { id: stored.id, created: true }
  }

  async getTask(id: string): Promise<TaskView | undefined> {
    const record = await this.store.get(id)
    return record === undefined ? undefined : toTaskView(record)
  }

  async listTasks(options: { states?: readonly TaskState[]; limit?: number } = {}): Promise<TaskView[]> {
    return (await this.store.list(options)).map(toTaskView)
  }

  /** Workers known from status messages and offers, with how they are connected now. */
  workers(): WorkerView[] {
    const connected = new Map(this.#node.connectedPeers().map((peer) => [peer.id, peer]))
    return [...this.#workers.values()].map((worker) => {
      const peer = connected.get(worker.id)
      return { ...worker, connection: peer?.transport ?? 'disconnected', direct: peer?.direct ?? false }
    })
  }

  /** Re-queues (or fails) every task whose lease has expired; returns how many. Runs on a timer too. */
  async checkLeases(): Promise<number> {
    if (this.#checkingLeases !== undefined) return this.#checkingLeases
    this.#checkingLeases = this.#expireLeases().finally(() => { this.#checkingLeases = undefined })
    return this.#checkingLeases
  }

  // ---- protocol handlers (public so they can be driven without a network in tests) ----

  async handleOffer(peer: string, offer: OfferRequest): Promise<OfferResponse> {
    this.#sawWorker(peer, offer.worker)
    if (!this.#started) return { v: V, assigned: false, reason: 'stopping' }
    let reason: 'taken' | 'not-eligible' = 'taken'
    const now = this.#clock.now()
    const updated = await this.store.update(offer.taskId, (task) => {
      if (task.state !== 'pending') return undefined
      if (!offer.worker.executors.includes(task.executor) || !eligible(task.requirements, offer.worker.labels)) {
        reason = 'not-eligible'
        return undefined
      }
      return {
        ...task,
        state: 'assigned',
        attempts: task.attempts + 1,
        worker: peer,
        lease: { id: randomUUID(), holder: peer, expiresAt: now + this.#leaseMs },
        updatedAt: now,
      }
    })
    if (updated === undefined) {
      const exists = await this.store.get(offer.taskId)
      return { v: V, assigned: false, reason: exists === undefined ? 'unknown-task' : reason }
    }
    this.safeDispatchEvent('task:assigned', { detail: toTaskView(updated) })
    const lease = updated.lease as NonNullable<TaskRecord['lease']>
    const inline = updated.input.byteLength <= LIMITS.inlineInputBytes
    return {
      v: V,
      assigned: true,
      task: {
        id: updated.id,
        executor: updated.executor,
        input: {
          kind: updated.inputKind,
          size: updated.input.byteLength,
          ...(inline ? { inline: Buffer.from(updated.input).toString('base64') } : {}),
        },
        ...(updated.timeoutMs !== undefined ? { timeoutMs: updated.timeoutMs } : {}),
        attempt: updated.attempts,
        lease: { id: lease.id, ttlMs: this.#leaseMs },
      },
    }
  }

  async handleRenew(peer: string, request: RenewRequest): Promise<LeaseResponse> {
    return this.#extendLease(peer, request.taskId, request.leaseId, undefined)
  }

  /** Progress also proves the worker alive, so it renews the lease as well. */
  async handleProgress(peer: string, request: ProgressRequest): Promise<LeaseResponse> {
    const progress = { at: this.#clock.now(), ...(request.fraction !== undefined ? { fraction: request.fraction } : {}),
      ...(request.message !== undefined ? { message: request.message } : {}) }
    return this.#extendLease(peer, request.taskId, request.leaseId, progress)
  }

  async handleReport(peer: string, report: ReportRequest): Promise<ReportResponse> {
    let status: ReportResponse['status'] = 'refused'
    const now = this.#clock.now()
    const updated = await this.store.update(report.taskId, (task) => {
      if (FINISHED_STATES.has(task.state)) {
        status = 'duplicate'
        return undefined
      }
      if (task.lease === undefined || task.lease.id !== report.leaseId || task.lease.holder !== peer) return undefined
      status = 'accepted'
      const { lease: _lease, ...rest } = task
      if (report.outcome === 'succeeded') return { ...rest, state: 'succeeded', result: report.result, updatedAt: now }
      if (report.outcome === 'failed' && !report.retryable) return { ...rest, state: 'failed', error: report.error, updatedAt: now }
      const why = report.outcome === 'failed' ? report.error : `released by the worker: ${report.reason}`
      return this.#endAttempt(rest, why, now)
    })
    if (status === 'refused') {
      this.#protocolError(REPORT_PROTOCOL, peer, `report for ${report.taskId} from a peer without its lease`)
    }
    if (updated !== undefined) this.#announceChange(updated, report.outcome === 'released' ? 'released by the worker' : 'failed (retryable)')
    return { v: V, status }
  }

  // ---- internals ----

  async #extendLease(peer: string, taskId: string, leaseId: string, progress: TaskRecord['progress']): Promise<LeaseResponse> {
    const now = this.#clock.now()
    let becameRunning = false
    const updated = await this.store.update(taskId, (task) => {
      if (task.state !== 'assigned' && task.state !== 'running') return undefined
      if (task.lease === undefined || task.lease.id !== leaseId || task.lease.holder !== peer) return undefined
      becameRunning = task.state === 'assigned'
      return {
        ...task,
        state: 'running',
        lease: { ...task.lease, expiresAt: now + this.#leaseMs },
        ...(progress !== undefined ? { progress } : {}),
        updatedAt: now,
      }
    })
    if (updated === undefined) return { v: V, status: 'lost' }
    if (becameRunning) this.safeDispatchEvent('task:running', { detail: toTaskView(updated) })
    if (progress !== undefined) this.safeDispatchEvent('task:progress', { detail: toTaskView(updated) })
    return { v: V, status: 'renewed', ttlMs: this.#leaseMs }
  }

  /** The current attempt ended without a result: back to pending, or failed once attempts are used up. */
  #endAttempt(task: Omit<TaskRecord, 'lease'>, why: string, now: number): TaskRecord {
    if (task.attempts >= task.maxAttempts) {
      return { ...task, state: 'failed', error: `${why} (attempt ${task.attempts} of ${task.maxAttempts})`, updatedAt: now }
    }
    const { progress: _progress, ...rest } = task
    return { ...rest, state: 'pending', updatedAt: now }
  }

  #announceChange(record: TaskRecord, reason: string): void {
    if (record.state === 'pending') {
      this.safeDispatchEvent('task:requeued', { detail: { ...toTaskView(record), reason } })
      this.#requestAnnounce()
    } else if (record.state === 'succeeded') {
      this.safeDispatchEvent('task:succeeded', { detail: toTaskView(record) })
    } else if (record.state === 'failed') {
      this.safeDispatchEvent('task:failed', { detail: toTaskView(record) })
    }
  }

  async #expireLeases(): Promise<number> {
    const now = this.#clock.now()
    const leased = await this.store.list({ states: ['assigned', 'running'] })
    let expired = 0
    for (const candidate of leased) {
      if (candidate.lease === undefined || candidate.lease.expiresAt > now) continue
      const updated = await this.store.update(candidate.id, (task) => {
        if (task.lease === undefined || task.lease.expiresAt > now || FINISHED_STATES.has(task.state)) return undefined
        const { lease: _lease, ...rest } = task
        return this.#endAttempt(rest, `lease expired on worker ${task.lease.holder}`, now)
      })
      if (updated === undefined) continue
      expired++
      this.#announceChange(updated, 'lease expired')
    }
    return expired
  }

  async #inputFor(peer: string, request: InputRequest): Promise<Uint8Array | 'no-lease'> {
    const task = await this.store.get(request.taskId)
    if (task === undefined || task.lease === undefined || task.lease.id !== request.leaseId || task.lease.holder !== peer) {
      this.#protocolError(INPUT_PROTOCOL, peer, `input of ${request.taskId} asked for without its lease`)
      return 'no-lease'
    }
    return task.input
  }

  /** Coalesces announce requests: at most one publish in flight, one more queued behind it. */
  #requestAnnounce(): void {
    if (!this.#started) return
    if (this.#announcing !== undefined) {
      this.#announceAgain = true
      return
    }
    this.#announcing = this.#announce()
      .catch((err: unknown) => { this.#protocolError(ANNOUNCE_TOPIC, undefined, String(err)) })
      .finally(() => {
        this.#announcing = undefined
        if (this.#announceAgain) {
          this.#announceAgain = false
          this.#requestAnnounce()
        }
      })
  }

  async #announce(): Promise<void> {
    const topic = this.#announceTopic
    if (topic === undefined) return
    const all = await this.store.list({ states: ['pending'] })
    if (all.length === 0) return
    let pending = all
    if (all.length > this.#maxAnnouncedPerRound) {
      // Rotate through a large backlog so tasks no worker takes cannot hide the ones behind them.
      const start = this.#announceCursor % all.length
      pending = [...all, ...all].slice(start, start + this.#maxAnnouncedPerRound)
      this.#announceCursor = start + this.#maxAnnouncedPerRound
    }
    const addrs = this.#node.libp2p.getMultiaddrs()
      .map((a) => a.toString())
      .filter((a) => a.length <= LIMITS.addressChars)
      .slice(0, LIMITS.addressesPerAnnouncement)
    for (let i = 0; i < pending.length; i += LIMITS.tasksPerAnnouncement) {
      const tasks = pending.slice(i, i + LIMITS.tasksPerAnnouncement).map((task) => ({
        id: task.id,
        executor: task.executor,
        inputSize: task.input.byteLength,
        attempt: task.attempts,
        ...(task.requirements !== undefined ? { requirements: task.requirements } : {}),
      }))
      await topic.publish({ v: V, scheduler: this.#node.peerId.toString(), addrs, tasks }, { signal: this.#stopController.signal })
    }
  }

  #sawWorker(peer: string, capabilities: WorkerCapabilities): void {
    const worker = { id: peer, ...capabilities, lastSeen: this.#clock.now() }
    this.#workers.set(peer, worker)
    const connected = this.#node.connectedPeers().find((p) => p.id === peer)
    this.safeDispatchEvent('worker:seen', {
      detail: { ...worker, connection: connected?.transport ?? 'disconnected', direct: connected?.direct ?? false },
    })
  }

  #protocolError(protocol: string, peer: string | undefined, error: string): void {
    this.safeDispatchEvent('protocol:error', { detail: { protocol, ...(peer !== undefined ? { peer } : {}), error } })
  }
}
