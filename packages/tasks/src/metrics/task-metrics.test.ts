import { Registry } from 'prom-client'
import { MemoryBus, schedulerNode } from '../../test/fixtures/memory-wire.js'
import { type OfferResponse, TASK_PROTOCOL_VERSION as V } from '../protocol/messages.js'
import { Scheduler } from '../scheduler/scheduler.js'
import { attachSchedulerMetrics, TASK_METRIC_NAMES } from './task-metrics.js'

const caps = { executors: ['echo'], capacity: 1, running: 0, labels: {} }
let now = 1_000_000
let scheduler: Scheduler
let registry: Registry

function leaseOf(response: OfferResponse): string {
  if (!response.assigned) throw new Error(`not assigned: ${response.reason}`)
  return response.task.lease.id
}

async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const entries = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>
  return entries.find((v) => (v.metricName ?? name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value
}

beforeEach(async () => {
  now = 1_000_000
  registry = new Registry()
  scheduler = new Scheduler(schedulerNode(new MemoryBus()), {
    leaseMs: 1_000, maxAttempts: 1, announceIntervalMs: 3_600_000, leaseCheckIntervalMs: 3_600_000, clock: { now: () => now },
  })
  attachSchedulerMetrics(scheduler, registry)
  await scheduler.start()
})

afterEach(async () => { await scheduler.stop() })

describe('scheduler metrics', () => {
  it('count submissions, states, final outcomes with their durations, and known workers', async () => {
    const done = await scheduler.submit({ executor: 'echo', input: 'a' })
    const expired = await scheduler.submit({ executor: 'echo', input: 'b' })
    await scheduler.submit({ executor: 'echo', input: 'c' })
    await scheduler.submit({ id: done.id, executor: 'echo', input: 'a' }) // idempotent: not counted again
    expect(await value(TASK_METRIC_NAMES.submitted)).toBe(3)
    expect(await value(TASK_METRIC_NAMES.leader)).toBe(1) // a single scheduler leads
    expect(await value(TASK_METRIC_NAMES.tasks, { state: 'pending' })).toBe(3)
    expect(await value(TASK_METRIC_NAMES.finished, { state: 'succeeded' })).toBe(0)

    const lease = leaseOf(await scheduler.handleOffer('w1', { v: V, taskId: done.id, worker: caps }))
    await scheduler.handleOffer('w2', { v: V, taskId: done.id, worker: caps }) // lost the race
    expect(await value(TASK_METRIC_NAMES.offers, { answer: 'assigned' })).toBe(1)
    expect(await value(TASK_METRIC_NAMES.offers, { answer: 'taken' })).toBe(1)
    now += 2_000
    await scheduler.handleReport('w1', { v: V, taskId: done.id, leaseId: lease, outcome: 'succeeded', result: { echo: 'a' } })
    leaseOf(await scheduler.handleOffer('w1', { v: V, taskId: expired.id, worker: caps }))
    expect(await value(TASK_METRIC_NAMES.tasks, { state: 'assigned' })).toBe(1)
    now += 1_001
    await scheduler.checkLeases() // maxAttempts 1: the expired lease fails the task

    expect(await value(TASK_METRIC_NAMES.tasks, { state: 'succeeded' })).toBe(1)
    expect(await value(TASK_METRIC_NAMES.tasks, { state: 'failed' })).toBe(1)
    expect(await value(TASK_METRIC_NAMES.tasks, { state: 'pending' })).toBe(1)
    expect(await value(TASK_METRIC_NAMES.finished, { state: 'succeeded' })).toBe(1)
    expect(await value(TASK_METRIC_NAMES.finished, { state: 'failed' })).toBe(1)
    const text = await registry.metrics()
    expect(text).toContain(`${TASK_METRIC_NAMES.taskDuration}_sum{state="succeeded"} 2`)
    expect(text).toContain(`${TASK_METRIC_NAMES.taskDuration}_bucket{le="2.5",state="succeeded"} 1`)
    expect(await value(TASK_METRIC_NAMES.workers, { connection: 'disconnected' })).toBe(2)
  })
})
