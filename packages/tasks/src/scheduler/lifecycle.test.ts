import { TASK_PROTOCOL_VERSION as V } from '../protocol/messages.js'
import { record } from '../../test/fixtures/task-store-contract.js'
import * as lifecycle from './lifecycle.js'

const worker = { executors: ['echo'], labels: { zone: 'a' } }
const grant = { leaseId: 'L1', now: 100, leaseMs: 50 }
const assigned = (): ReturnType<typeof record> => {
  const outcome = lifecycle.assign(record('t'), 'w1', worker, grant)
  if (!outcome.ok) throw new Error(outcome.reason)
  return outcome.record
}

describe('task lifecycle', () => {
  it('assigns a pending task to an eligible worker under a new lease, and nothing else', () => {
    expect(assigned()).toMatchObject({ state: 'assigned', attempts: 1, worker: 'w1', lease: { id: 'L1', holder: 'w1', expiresAt: 150 }, updatedAt: 100 })
    expect(lifecycle.assign(assigned(), 'w2', worker, grant)).toEqual({ ok: false, reason: 'taken' })
    expect(lifecycle.assign(record('t', { executor: 'sleep' }), 'w1', worker, grant)).toEqual({ ok: false, reason: 'not-eligible' })
    expect(lifecycle.assign(record('t', { requirements: { labels: { zone: 'b' } } }), 'w1', worker, grant)).toEqual({ ok: false, reason: 'not-eligible' })
  })

  it('renews only for the lease holder, moving the task to running', () => {
    const task = assigned()
    expect(lifecycle.renew(task, 'w1', 'L1', { now: 120, leaseMs: 50, progress: { at: 120, fraction: 0.5 } }))
      .toMatchObject({ state: 'running', lease: { expiresAt: 170 }, progress: { fraction: 0.5 } })
    expect(lifecycle.renew(task, 'w2', 'L1', { now: 120, leaseMs: 50 })).toBeUndefined()
    expect(lifecycle.renew(task, 'w1', 'forged', { now: 120, leaseMs: 50 })).toBeUndefined()
    expect(lifecycle.renew(record('t'), 'w1', 'L1', { now: 120, leaseMs: 50 })).toBeUndefined()
  })

  it('cancels an unfinished task (its lease ends, so renewals fail) and leaves finished ones alone', () => {
    const cancelled = lifecycle.cancel(assigned(), 'user asked', 300)
    expect(cancelled).toMatchObject({ state: 'failed', error: 'cancelled: user asked', updatedAt: 300 })
    expect(cancelled?.lease).toBeUndefined()
    expect(lifecycle.renew(cancelled as ReturnType<typeof record>, 'w1', 'L1', { now: 310, leaseMs: 50 })).toBeUndefined()
    expect(lifecycle.cancel(record('t'), 'x', 300)).toMatchObject({ state: 'failed' })
    expect(lifecycle.cancel({ ...assigned(), state: 'succeeded' }, 'x', 300)).toBeUndefined()
    expect(lifecycle.cancel(cancelled as ReturnType<typeof record>, 'again', 400)).toBeUndefined()
  })

  it('ends an attempt: back to pending while attempts are left, failed after the last', () => {
    const task = { ...assigned(), progress: { at: 1 } }
    const again = lifecycle.endAttempt(task, 'why', 200)
    expect(again).toMatchObject({ state: 'pending', attempts: 1 })
    expect(again.lease).toBeUndefined()
    expect(again.progress).toBeUndefined()
    expect(lifecycle.endAttempt({ ...task, attempts: 3 }, 'why', 200)).toMatchObject({ state: 'failed', error: 'why (attempt 3 of 3)' })
  })

  it('takes reports from the holder, late successes from the last worker, duplicates of finished tasks', () => {
    const task = assigned()
    const ok = { v: V, taskId: 't', leaseId: 'L1', outcome: 'succeeded', result: 7 } as const
    expect(lifecycle.report(task, 'w1', ok, 130)).toMatchObject({ status: 'accepted', record: { state: 'succeeded', result: 7 } })
    expect(lifecycle.report(task, 'w2', ok, 130)).toEqual({ status: 'refused' })
    const failed = { v: V, taskId: 't', leaseId: 'L1', outcome: 'failed', error: 'boom', retryable: true } as const
    expect(lifecycle.report(task, 'w1', failed, 130)).toMatchObject({ status: 'accepted', record: { state: 'pending' } })
    expect(lifecycle.report(task, 'w1', { ...failed, retryable: false }, 130)).toMatchObject({ status: 'accepted', record: { state: 'failed', error: 'boom' } })
    const lapsed = lifecycle.expire(task, 150)
    if (lapsed === undefined) throw new Error('not expired')
    expect(lifecycle.report(lapsed, 'w1', ok, 160)).toMatchObject({ status: 'accepted' })
    expect(lifecycle.report(lapsed, 'w1', failed, 160)).toEqual({ status: 'refused' })
    expect(lifecycle.report({ ...lapsed, state: 'succeeded' }, 'w1', ok, 160)).toEqual({ status: 'duplicate' })
  })

  it('expires a lease at its expiry, not before; extends lapsed leases after an absence', () => {
    const task = assigned()
    expect(lifecycle.expire(task, 149)).toBeUndefined()
    expect(lifecycle.expire(task, 150)).toMatchObject({ state: 'pending' })
    expect(lifecycle.extendAfterAbsence(task, 1_000, 50)).toMatchObject({ state: 'assigned', lease: { expiresAt: 1_050 } })
    expect(lifecycle.extendAfterAbsence(task, 50, 50)).toBeUndefined() // still a full lease left
    expect(lifecycle.extendAfterAbsence(record('t'), 1_000, 50)).toBeUndefined()
  })
})
