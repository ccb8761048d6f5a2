// A task's life as pure functions over its record: each takes the current record and what
// happened, and returns the next record (or why nothing changes). No clock, no store, no
// network: the scheduler runs them inside `TaskStore.update`, so each is one atomic step.
//
//   pending --assign--> assigned --progress/renew--> running --report succeeded--> succeeded
//      ^                    |                            |     --report failed (final)--> failed
//      +---- lease expired / released / retryable failure (attempts left; else failed) ----+
//   pending | assigned | running --cancel--> failed ("cancelled: ..."); the worker learns at its
//   next renewal or progress (the lease is gone) and stops the job
import { type ReportRequest, resultPayloadName, type WorkerCapabilities } from '../protocol/messages.js'
import { canRun } from '../protocol/requirements.js'
import { FINISHED_STATES, type TaskProgress, type TaskRecord } from './task-store.js'

export interface LeaseGrant {
  leaseId: string
  now: number
  leaseMs: number
}

export type AssignOutcome = { ok: true; record: TaskRecord } | { ok: false; reason: 'taken' | 'not-eligible' }

/** True when `peer` holds the task's current lease `leaseId`. */
export function holdsLease(task: Readonly<TaskRecord>, peer: string, leaseId: string): boolean {
  return task.lease !== undefined && task.lease.id === leaseId && task.lease.holder === peer
}

/** A pending task goes to `peer` under a new lease, if the worker can run it. */
export function assign(task: Readonly<TaskRecord>, peer: string, worker: Pick<WorkerCapabilities, 'executors' | 'labels'>, grant: LeaseGrant): AssignOutcome {
  if (task.state !== 'pending') return { ok: false, reason: 'taken' }
  if (!canRun(task, worker)) return { ok: false, reason: 'not-eligible' }
  return {
    ok: true,
    record: {
      ...task,
      state: 'assigned',
      attempts: task.attempts + 1,
      worker: peer,
      lease: { id: grant.leaseId, holder: peer, expiresAt: grant.now + grant.leaseMs },
      updatedAt: grant.now,
    },
  }
}

/** The lease holder renews (with progress, optionally): the task is running, its lease extended. */
export function renew(task: Readonly<TaskRecord>, peer: string, leaseId: string, at: { now: number; leaseMs: number; progress?: TaskProgress }): TaskRecord | undefined {
  if (task.state !== 'assigned' && task.state !== 'running') return undefined
  if (!holdsLease(task, peer, leaseId) || task.lease === undefined) return undefined
  return {
    ...task,
    state: 'running',
    lease: { ...task.lease, expiresAt: at.now + at.leaseMs },
    ...(at.progress !== undefined ? { progress: at.progress } : {}),
    updatedAt: at.now,
  }
}

/** The current attempt ended without a result: back to pending, or failed once attempts are used up. */
export function endAttempt(task: Readonly<TaskRecord>, why: string, now: number): TaskRecord {
  const { lease: _lease, progress: _progress, ...rest } = task
  if (task.attempts >= task.maxAttempts) {
    return { ...rest, state: 'failed', error: `${why} (attempt ${task.attempts} of ${task.maxAttempts})`, updatedAt: now }
  }
  return { ...rest, state: 'pending', updatedAt: now }
}

export type ReportOutcome = { status: 'accepted'; record: TaskRecord } | { status: 'duplicate' | 'refused'; record?: undefined }

/**
 * A worker's report. Accepted from the lease holder; a success is also accepted from the worker
 * of the last attempt when its lease has lapsed but nobody else has the task yet (a result
 * delivered late, after the scheduler was away, is still the task's result: at-least-once,
 * stored once). Anything about a finished task is a duplicate.
 */
export function report(task: Readonly<TaskRecord>, peer: string, message: ReportRequest, now: number): ReportOutcome {
  if (FINISHED_STATES.has(task.state)) return { status: 'duplicate' }
  const holder = holdsLease(task, peer, message.leaseId)
  const lateSuccess = !holder && message.outcome === 'succeeded' && task.state === 'pending' && task.worker === peer
  if (!holder && !lateSuccess) return { status: 'refused' }
  const { lease: _lease, ...rest } = task
  if (message.outcome === 'succeeded') {
    const payload = message.payload === undefined ? {} : { resultPayload: { ...message.payload, name: resultPayloadName(message.leaseId) } }
    return { status: 'accepted', record: { ...rest, state: 'succeeded', result: message.result, ...payload, updatedAt: now } }
  }
  if (message.outcome === 'failed' && !message.retryable) return { status: 'accepted', record: { ...rest, state: 'failed', error: message.error, updatedAt: now } }
  const why = message.outcome === 'failed' ? message.error : `released by the worker: ${message.reason}`
  return { status: 'accepted', record: endAttempt(task, why, now) }
}

/** A lease that ran out ends the attempt. */
export function expire(task: Readonly<TaskRecord>, now: number): TaskRecord | undefined {
  if (task.lease === undefined || task.lease.expiresAt > now || FINISHED_STATES.has(task.state)) return undefined
  return endAttempt(task, `lease expired on worker ${task.lease.holder}`, now)
}

/**
 * After the scheduler was away, a lease that ran out (or would within one lease) while nobody
 * could renew it gets one more lease from `now`: its worker kept running and renews or reports
 * once it reaches the scheduler again. Workers that are gone lose the task one lease later.
 */
export function extendAfterAbsence(task: Readonly<TaskRecord>, now: number, leaseMs: number): TaskRecord | undefined {
  if ((task.state !== 'assigned' && task.state !== 'running') || task.lease === undefined) return undefined
  if (task.lease.expiresAt >= now + leaseMs) return undefined
  return { ...task, lease: { ...task.lease, expiresAt: now + leaseMs } }
}

/** A user cancels: an unfinished task fails at once and its lease ends (the worker's next renewal is answered 'lost'). */
export function cancel(task: Readonly<TaskRecord>, reason: string, now: number): TaskRecord | undefined {
  if (FINISHED_STATES.has(task.state)) return undefined
  const { lease: _lease, ...rest } = task
  return { ...rest, state: 'failed', error: `cancelled: ${reason}`, updatedAt: now }
}
