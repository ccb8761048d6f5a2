import { ANNOUNCE_TOPIC, type OfferRequest, type OfferResponse, TASK_PROTOCOL_VERSION as V } from '../protocol/messages.js'
import { MemoryBus, schedulerNode, until } from '../../test/fixtures/memory-wire.js'
import { Scheduler } from './scheduler.js'

const LEASE = 1_000
const caps = { executors: ['echo', 'sleep'], capacity: 1, running: 0, labels: { zone: 'a' } }
const offer = (taskId: string, worker = caps): OfferRequest => ({ v: V, taskId, worker })

let now = 1_000_000
let bus: MemoryBus
let scheduler: Scheduler

function leaseOf(response: OfferResponse): string {
  if (!response.assigned) throw new Error(`not assigned: ${response.reason}`)
  return response.task.lease.id
}

beforeEach(async () => {
  now = 1_000_000
  bus = new MemoryBus()
  // Timers far out: the tests drive lease checks and the clock themselves.
  scheduler = new Scheduler(schedulerNode(bus), {
    leaseMs: LEASE, maxAttempts: 2, announceIntervalMs: 3_600_000, leaseCheckIntervalMs: 3_600_000, clock: { now: () => now },
  })
  await scheduler.start()
})

afterEach(async () => { await scheduler.stop() })

describe('Scheduler', () => {
  it('announces a submitted task and assigns it to the first eligible offer only', async () => {
    const { id, created } = await scheduler.submit({ executor: 'echo', input: 'hi' })
    expect(created).toBe(true)
    await until(() => bus.published.some((p) => p.topic === ANNOUNCE_TOPIC), 'the task is announced')
    expect(bus.published.find((p) => p.topic === ANNOUNCE_TOPIC)?.message).toMatchObject({ tasks: [{ id, executor: 'echo', inputSize: 2 }] })

    const first = await scheduler.handleOffer('w1', offer(id))
    expect(first).toMatchObject({ assigned: true, task: { id, attempt: 1, input: { kind: 'text', size: 2, inline: 'aGk=' }, lease: { ttlMs: LEASE } } })
    expect(await scheduler.handleOffer('w2', offer(id))).toEqual({ v: V, assigned: false, reason: 'taken' })
    expect(await scheduler.handleOffer('w2', offer('nope'))).toEqual({ v: V, assigned: false, reason: 'unknown-task' })
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'assigned', worker: 'w1', attempts: 1, leaseExpiresAt: now + LEASE })
    expect(scheduler.workers().map((w) => w.id).sort()).toEqual(['w1', 'w2'])
  })

  it('refuses offers from workers lacking the executor or a required label', async () => {
    const { id } = await scheduler.submit({ executor: 'sleep', input: '1', requirements: { labels: { zone: 'b' } } })
    expect(await scheduler.handleOffer('w1', offer(id))).toMatchObject({ assigned: false, reason: 'not-eligible' })
    expect(await scheduler.handleOffer('w1', offer(id, { ...caps, executors: ['echo'], labels: { zone: 'b' } }))).toMatchObject({ assigned: false, reason: 'not-eligible' })
    expect(await scheduler.handleOffer('w1', offer(id, { ...caps, labels: { zone: 'b' } }))).toMatchObject({ assigned: true })
  })

  it('moves to running on progress, extends the lease on renewal, and refuses renewals from others', async () => {
    const { id } = await scheduler.submit({ executor: 'echo', input: 'x' })
    const leaseId = leaseOf(await scheduler.handleOffer('w1', offer(id)))
    now += 500
    expect(await scheduler.handleProgress('w1', { v: V, taskId: id, leaseId, fraction: 0.5 })).toEqual({ v: V, status: 'renewed', ttlMs: LEASE })
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'running', progress: { fraction: 0.5 }, leaseExpiresAt: now + LEASE })
    expect(await scheduler.handleRenew('w2', { v: V, taskId: id, leaseId })).toEqual({ v: V, status: 'lost' })
    expect(await scheduler.handleRenew('w1', { v: V, taskId: id, leaseId: 'forged' })).toEqual({ v: V, status: 'lost' })
    now += 900
    expect(await scheduler.checkLeases()).toBe(0)
  })

  it('re-queues on lease expiry, then fails once maxAttempts are used up', async () => {
    const { id } = await scheduler.submit({ executor: 'echo', input: 'x' })
    const requeued: string[] = []
    scheduler.addEventListener('task:requeued', (e) => requeued.push(e.detail.reason))
    const firstLease = leaseOf(await scheduler.handleOffer('w1', offer(id)))
    now += LEASE + 1
    expect(await scheduler.checkLeases()).toBe(1)
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'pending', attempts: 1 })
    expect(requeued).toEqual(['lease expired'])
    // The old holder has lost the task: renewals and failures are refused ...
    expect(await scheduler.handleRenew('w1', { v: V, taskId: id, leaseId: firstLease })).toEqual({ v: V, status: 'lost' })
    expect(await scheduler.handleReport('w1', { v: V, taskId: id, leaseId: firstLease, outcome: 'failed', error: 'x', retryable: false }))
      .toEqual({ v: V, status: 'refused' })

    leaseOf(await scheduler.handleOffer('w2', offer(id)))
    // ... and so is a late result once another worker holds the task
    expect(await scheduler.handleReport('w1', { v: V, taskId: id, leaseId: firstLease, outcome: 'succeeded', result: { echo: 'x' } }))
      .toEqual({ v: V, status: 'refused' })
    now += LEASE + 1
    expect(await scheduler.checkLeases()).toBe(1)
    const view = await scheduler.getTask(id)
    expect(view).toMatchObject({ state: 'failed', attempts: 2 })
    expect(view?.error).toMatch(/lease expired on worker w2 \(attempt 2 of 2\)/)
  })

  it('accepts a late result from the last worker while nobody else holds the task (at-least-once, stored once)', async () => {
    const { id } = await scheduler.submit({ executor: 'echo', input: 'x' })
    const leaseId = leaseOf(await scheduler.handleOffer('w1', offer(id)))
    now += LEASE + 1
    expect(await scheduler.checkLeases()).toBe(1)
    const late = { v: V, taskId: id, leaseId, outcome: 'succeeded', result: { echo: 'x' } } as const
    expect(await scheduler.handleReport('w2', late)).toEqual({ v: V, status: 'refused' })
    expect(await scheduler.handleReport('w1', late)).toEqual({ v: V, status: 'accepted' })
    expect(await scheduler.handleReport('w1', late)).toEqual({ v: V, status: 'duplicate' })
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'succeeded', attempts: 1, result: { echo: 'x' } })
  })

  it('gives leases that lapsed while it was stopped one more lease when it starts again', async () => {
    const { id } = await scheduler.submit({ executor: 'echo', input: 'x' })
    const leaseId = leaseOf(await scheduler.handleOffer('w1', offer(id)))
    await scheduler.stop()
    now += 10 * LEASE // away for ten leases
    await scheduler.start()
    expect(await scheduler.checkLeases()).toBe(0)
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'assigned', leaseExpiresAt: now + LEASE })
    expect(await scheduler.handleRenew('w1', { v: V, taskId: id, leaseId })).toMatchObject({ status: 'renewed' })
    // a worker that is gone loses it one lease later
    now += LEASE + 1
    expect(await scheduler.checkLeases()).toBe(1)
  })

  it('hands a pulling worker the oldest pending tasks it can run, at most as many as asked', async () => {
    const ids = []
    for (const [executor, labels] of [['echo', {}], ['sleep', { zone: 'b' }], ['echo', {}], ['echo', {}]] as const) {
      ids.push((await scheduler.submit({ executor, input: '1', requirements: { labels } })).id)
    }
    const pulled = await scheduler.handlePull('w1', { v: V, worker: caps, max: 2 })
    expect(pulled.tasks.map((t) => t.id)).toEqual([ids[0], ids[2]])
    expect(pulled.tasks[0]).toMatchObject({ attempt: 1, input: { kind: 'text', size: 1, inline: 'MQ==' }, lease: { ttlMs: LEASE } })
    expect((await scheduler.handlePull('w2', { v: V, worker: caps, max: 16 })).tasks.map((t) => t.id)).toEqual([ids[3]])
    expect((await scheduler.handlePull('w2', { v: V, worker: caps, max: 16 })).tasks).toEqual([])
    expect(await scheduler.getTask(ids[1] as string)).toMatchObject({ state: 'pending' })
    await scheduler.stop()
    expect(await scheduler.handlePull('w2', { v: V, worker: caps, max: 1 })).toEqual({ v: V, tasks: [], reason: 'stopping' })
  })

  it('prunes finished tasks past the retention, and nothing else', async () => {
    const pruning = new Scheduler(schedulerNode(bus), { retentionMs: 1_000, pruneIntervalMs: 3_600_000, clock: { now: () => now } })
    const done = await pruning.submit({ executor: 'echo', input: 'x' })
    const waiting = await pruning.submit({ executor: 'echo', input: 'y' })
    await pruning.start()
    try {
      const lease = leaseOf(await pruning.handleOffer('w1', offer(done.id)))
      await pruning.handleReport('w1', { v: V, taskId: done.id, leaseId: lease, outcome: 'succeeded', result: 1 })
      now += 999
      expect(await pruning.prune()).toBe(0)
      now += 2
      expect(await pruning.prune()).toBe(1)
      expect(await pruning.getTask(done.id)).toBeUndefined()
      expect(await pruning.getTask(waiting.id)).toMatchObject({ state: 'pending' })
    } finally {
      await pruning.stop()
    }
  })

  it('records a result once and ignores duplicates', async () => {
    const { id } = await scheduler.submit({ executor: 'echo', input: 'x' })
    const leaseId = leaseOf(await scheduler.handleOffer('w1', offer(id)))
    const report = { v: V, taskId: id, leaseId, outcome: 'succeeded', result: { echo: 'x' } } as const
    expect(await scheduler.handleReport('w2', report)).toEqual({ v: V, status: 'refused' })
    expect(await scheduler.handleReport('w1', report)).toEqual({ v: V, status: 'accepted' })
    expect(await scheduler.handleReport('w1', { ...report, result: { echo: 'other' } })).toEqual({ v: V, status: 'duplicate' })
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'succeeded', result: { echo: 'x' } })
    expect((await scheduler.getTask(id))?.leaseExpiresAt).toBeUndefined()
  })

  it('re-queues a released task at once and a retryable failure within attempts; a final failure sticks', async () => {
    const { id } = await scheduler.submit({ executor: 'echo', input: 'x' })
    let leaseId = leaseOf(await scheduler.handleOffer('w1', offer(id)))
    expect(await scheduler.handleReport('w1', { v: V, taskId: id, leaseId, outcome: 'released', reason: 'stopping' })).toMatchObject({ status: 'accepted' })
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'pending', attempts: 1 })
    leaseId = leaseOf(await scheduler.handleOffer('w2', offer(id)))
    expect(await scheduler.handleReport('w2', { v: V, taskId: id, leaseId, outcome: 'failed', error: 'flaky', retryable: true })).toMatchObject({ status: 'accepted' })
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'failed', attempts: 2, error: 'flaky (attempt 2 of 2)' })

    const other = await scheduler.submit({ executor: 'echo', input: 'y' })
    const lease = leaseOf(await scheduler.handleOffer('w1', offer(other.id)))
    await scheduler.handleReport('w1', { v: V, taskId: other.id, leaseId: lease, outcome: 'failed', error: 'bad input', retryable: false })
    expect(await scheduler.getTask(other.id)).toMatchObject({ state: 'failed', attempts: 1, error: 'bad input' })
  })

  it('is idempotent on caller-supplied ids and refuses a conflicting re-submission', async () => {
    expect(await scheduler.submit({ id: 'job-1', executor: 'echo', input: { base64: 'AAEC' } })).toEqual({ id: 'job-1', created: true })
    expect(await scheduler.submit({ id: 'job-1', executor: 'echo', input: new Uint8Array([0, 1, 2]) })).toEqual({ id: 'job-1', created: false })
    await expect(scheduler.submit({ id: 'job-1', executor: 'sleep', input: { base64: 'AAEC' } })).rejects.toMatchObject({ name: 'TaskConflictError' })
    expect(await scheduler.listTasks()).toHaveLength(1)
  })

  it('rotates announcements through a backlog larger than one round', async () => {
    const rotating = new Scheduler(schedulerNode(bus, 's3'), { maxAnnouncedPerRound: 2, announceIntervalMs: 10, leaseCheckIntervalMs: 3_600_000 })
    await rotating.start()
    try {
      for (const id of ['a', 'b', 'c']) await rotating.submit({ id, executor: 'echo', input: id })
      const announced = (): Set<string> => new Set(bus.published
        .filter((p) => p.from === 's3')
        .flatMap((p) => (p.message as { tasks: Array<{ id: string }> }).tasks.map((t) => t.id)))
      await until(() => announced().size === 3, 'every task has been announced')
      expect(bus.published.filter((p) => p.from === 's3').every((p) => (p.message as { tasks: unknown[] }).tasks.length <= 2)).toBe(true)
    } finally {
      await rotating.stop()
    }
  })

  it('refuses inputs above maxInputBytes', async () => {
    const small = new Scheduler(schedulerNode(new MemoryBus(), 's2'), { maxInputBytes: 4 })
    await expect(small.submit({ executor: 'echo', input: 'hello' })).rejects.toMatchObject({ name: 'TaskInputTooLargeError' })
  })
})
