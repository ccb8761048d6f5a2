// Task results that travel as files, the scheduler's side. A worker pushes an attempt's result
// file over the bulk transfer protocol as result.<lease id> (resumable, sha256 checked as it is
// written, never one JSON value in memory), then reports {size, sha256}; the report is accepted
// only if that payload is here with those bytes.
//
// Who may push: only the peer holding the lease the name carries, only up to maxBytes, and
// nothing else at all (clients read results over the HTTP API; what workers may pull, their
// tasks' inputs, is input-payloads.ts; the scheduler installs both as the node's access policy).
// Payloads of tasks long finished, and pushes never finished, are swept after the retention.
import type { BulkAccessRequest, BulkTransfer } from '@hypha/network-core'
import { leaseIdOfResultPayload, type ResultPayload, resultPayloadName } from '../protocol/messages.js'
import { LEASED_STATES, type TaskRecord, type TaskStore } from './task-store.js'

/** The part of the node's bulk service the scheduler uses. */
export type ResultPayloadService = Pick<BulkTransfer, 'setAccessPolicy' | 'store'>

export interface ResultPayloadsInit {
  bulk: ResultPayloadService
  store: TaskStore
  /** Largest result file accepted. */
  maxBytes: number
  now: () => number
  /** A lease unknown to this replica triggers a scan of leased tasks at most this often. @default 2_000 */
  rescanIntervalMs?: number
  /** Refuses a peer before anything else (its role): undefined when it may push, else why not. */
  authorizePeer?: (peer: string) => string | undefined
}

const PAGE = 500
const MAX_TRACKED = 100_000

export class ResultPayloads {
  readonly #bulk: ResultPayloadService
  readonly #store: TaskStore
  readonly #maxBytes: number
  readonly #now: () => number
  readonly #rescanIntervalMs: number
  readonly #authorizePeer: (peer: string) => string | undefined
  /** lease id -> task id, for the leases this replica granted or found leased in the store. */
  readonly #leases = new Map<string, string>()
  #lastScan = Number.NEGATIVE_INFINITY

  constructor(init: ResultPayloadsInit) {
    this.#bulk = init.bulk
    this.#store = init.store
    this.#maxBytes = init.maxBytes
    this.#now = init.now
    this.#rescanIntervalMs = init.rescanIntervalMs ?? 2_000
    this.#authorizePeer = init.authorizePeer ?? (() => undefined)
  }

  get maxBytes(): number {
    return this.#maxBytes
  }

  /** Remembers which task a lease this replica just granted belongs to. */
  track(leaseId: string, taskId: string): void {
    this.#leases.set(leaseId, taskId)
    // a cache, not the truth (the store is): bounded, oldest first out
    if (this.#leases.size > MAX_TRACKED) this.#leases.delete(this.#leases.keys().next().value as string)
  }

  forget(leaseId: string): void {
    this.#leases.delete(leaseId)
  }

  /** The bulk access policy for pushes: true, or why the push is refused. */
  async authorize(request: BulkAccessRequest): Promise<true | string> {
    const refused = this.#authorizePeer(request.peer.toString())
    if (refused !== undefined) return refused
    if (request.op !== 'push') return 'results are read over the scheduler\'s HTTP API, not pulled'
    const leaseId = leaseIdOfResultPayload(request.name)
    if (leaseId === undefined) return `a scheduler accepts only result payloads named ${resultPayloadName('<lease id>')}`
    if ((request.size ?? 0) > this.#maxBytes) return `a result of ${request.size} bytes is more than the scheduler's max_result_size of ${this.#maxBytes} bytes`
    const task = await this.taskOfLease(leaseId)
    const peer = request.peer.toString()
    if (task?.lease?.id !== leaseId || task.lease.holder !== peer) return `${peer} holds no lease ${leaseId}`
    return true
  }

  /** True when the payload a report names is here with exactly those bytes. */
  async holds(leaseId: string, payload: ResultPayload): Promise<boolean> {
    const stored = await this.#bulk.store.stat(resultPayloadName(leaseId))
    return stored !== undefined && stored.size === payload.size && stored.sha256 === payload.sha256
  }

  /** Where a stored result's bytes are (for the HTTP API to stream). */
  pathOf(name: string): string {
    return this.#bulk.store.pathOf(name)
  }

  /** Drops a payload no report will claim (a refused or failed attempt's). */
  async discard(leaseId: string): Promise<void> {
    this.forget(leaseId)
    await this.#bulk.store.remove(resultPayloadName(leaseId))
  }

  /** Deletes result payloads and unfinished pushes last written before `before`; returns how many. */
  async sweep(before: number): Promise<number> {
    return this.#bulk.store.sweep(before, (name) => leaseIdOfResultPayload(name) !== undefined)
  }

  /** The task a lease belongs to: from the leases this replica knows, else (rate-limited) a scan of the leased tasks. */
  async taskOfLease(leaseId: string): Promise<TaskRecord | undefined> {
    const known = this.#leases.get(leaseId)
    if (known !== undefined) return this.#store.get(known)
    // Granted by another replica, or before a restart: look through the leased tasks, though not
    // more often than rescanIntervalMs (a peer pushing made-up names must not make us scan on every push).
    const now = this.#now()
    if (now - this.#lastScan < this.#rescanIntervalMs) return undefined
    this.#lastScan = now
    let after: string | undefined
    let found: TaskRecord | undefined
    for (;;) {
      const page = await this.#store.list({ states: LEASED_STATES, limit: PAGE, ...(after !== undefined ? { after } : {}) })
      for (const task of page) {
        if (task.lease === undefined) continue
        this.#leases.set(task.lease.id, task.id)
        if (task.lease.id === leaseId) found = task
      }
      if (page.length < PAGE) return found
      after = page.at(-1)?.id
    }
  }
}
