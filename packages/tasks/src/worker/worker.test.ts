import { MemoryBus, schedulerNode, until, workerNode } from '../../test/fixtures/memory-wire.js'
import { Scheduler } from '../scheduler/scheduler.js'
import { type WorkerEvents, Worker, type WorkerOptions } from './worker.js'

type Finished = WorkerEvents['task:finished']['detail']

let skew = 0
let bus: MemoryBus
let scheduler: Scheduler
const started: Worker[] = []

async function startWorker(id: string, options: WorkerOptions = {}): Promise<{ worker: Worker; node: ReturnType<typeof workerNode>; finished: Finished[] }> {
  const node = workerNode(bus, scheduler, id)
  const worker = new Worker(node, { statusIntervalMs: 3_600_000, ...options })
  const finished: Finished[] = []
  worker.addEventListener('task:finished', (e) => finished.push(e.detail))
  await worker.start()
  started.push(worker)
  return { worker, node, finished }
}

beforeEach(async () => {
  skew = 0
  bus = new MemoryBus()
  scheduler = new Scheduler(schedulerNode(bus), {
    leaseMs: 300, announceIntervalMs: 50, leaseCheckIntervalMs: 3_600_000, clock: { now: () => Date.now() + skew },
  })
  await scheduler.start()
})

afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()))
  await scheduler.stop()
})

describe('Worker', () => {
  it('offers, runs and reports, and the scheduler records the result', async () => {
    const { finished } = await startWorker('w1')
    const { id } = await scheduler.submit({ executor: 'echo', input: 'ping' })
    await until(() => finished.length === 1, 'the task finishes')
    expect(finished[0]).toMatchObject({ taskId: id, outcome: 'succeeded', result: { echo: 'ping' }, reported: 'accepted' })
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'succeeded', worker: 'w1', attempts: 1 })
    expect(scheduler.workers()[0]).toMatchObject({ id: 'w1', executors: ['echo', 'sleep', 'sha256'], capacity: 1 })
  })

  it('runs no more tasks at once than its capacity', async () => {
    const { worker } = await startWorker('w1', { capacity: 2 })
    const ids = await Promise.all([1, 2, 3].map(() => scheduler.submit({ executor: 'sleep', input: '150' })))
    let most = 0
    const timer = setInterval(() => { most = Math.max(most, worker.running.length) }, 5)
    try {
      await until(async () => (await scheduler.listTasks({ states: ['succeeded'] })).length === 3, 'all three finish')
    } finally {
      clearInterval(timer)
    }
    expect(most).toBe(2)
    expect(ids).toHaveLength(3)
  })

  it('hands running tasks back on stop, so they are pending again at once', async () => {
    const { worker, finished } = await startWorker('w1', { handBackTimeoutMs: 1_000 })
    const { id } = await scheduler.submit({ executor: 'sleep', input: '60000' })
    await until(async () => (await scheduler.getTask(id))?.state === 'running', 'the task runs')
    const before = performance.now()
    await worker.stop()
    expect(performance.now() - before).toBeLessThan(1_000)
    expect(finished).toEqual([expect.objectContaining({ taskId: id, outcome: 'handed-back', reported: 'accepted' })])
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'pending', attempts: 1 })
  })

  it('abandons a task whose lease the scheduler has taken back', async () => {
    const { finished } = await startWorker('w1')
    const { id } = await scheduler.submit({ executor: 'sleep', input: '60000' })
    await until(async () => (await scheduler.getTask(id))?.state === 'running', 'the task runs')
    skew = 10_000
    expect(await scheduler.checkLeases()).toBe(1)
    await until(() => finished.length > 0, 'the worker notices')
    expect(finished[0]).toMatchObject({ taskId: id, outcome: 'lease-lost', reported: 'not-sent' })
  })

  it('keeps running through its scheduler\'s absence and reports once it is back', async () => {
    const { worker, node, finished } = await startWorker('w1', { requestTimeoutMs: 100 })
    const reportErrors: string[] = []
    worker.addEventListener('protocol:error', ({ detail }) => { if (detail.protocol.includes('report')) reportErrors.push(detail.error) })
    const { id } = await scheduler.submit({ executor: 'sleep', input: '400' })
    await until(async () => (await scheduler.getTask(id))?.state === 'running', 'the task runs')
    node.cut()
    // renewals fail for longer than the 300 ms lease, the task still runs to its end ...
    await until(() => reportErrors.length > 0, 'the first report fails', 3_000)
    expect(finished).toEqual([])
    expect(worker.running).toEqual([id])
    // ... and its result is delivered when the scheduler is reachable again
    node.heal()
    await until(() => finished.length > 0, 'the report is delivered', 10_000)
    expect(finished[0]).toMatchObject({ taskId: id, outcome: 'succeeded', reported: 'accepted' })
    expect(reportErrors).toHaveLength(1) // one line per outage, not one per retry
    expect(await scheduler.getTask(id)).toMatchObject({ state: 'succeeded', attempts: 1, result: { slept: 400 } })
  })

  it('pulls the next task the moment a slot frees, without waiting for an announcement', async () => {
    await scheduler.stop()
    scheduler = new Scheduler(schedulerNode(bus), { leaseMs: 5_000, announceIntervalMs: 3_600_000, leaseCheckIntervalMs: 3_600_000 })
    await scheduler.start()
    // queued while no worker listens: these announcements reach nobody
    const queued = await Promise.all(Array.from({ length: 6 }, (_, i) => scheduler.submit({ executor: 'echo', input: `t${i}` })))
    await until(() => bus.published.length > 0, 'the backlog is announced')
    const { finished } = await startWorker('w1', { capacity: 2 })
    const announced = (): number => bus.published.filter((p) => p.topic.includes('announce')).length
    const before = announced()
    // one more submission: its round is the only announcement the worker ever sees
    const last = await scheduler.submit({ executor: 'echo', input: 'last' })
    await until(() => finished.length === 7, 'all seven run', 5_000)
    expect(announced() - before).toBeLessThanOrEqual(2)
    for (const { id } of [...queued, last]) expect(await scheduler.getTask(id)).toMatchObject({ state: 'succeeded', worker: 'w1' })
  })

  it('reports an executor failure as final, and does not offer for unknown executors', async () => {
    const { finished } = await startWorker('w1')
    const bad = await scheduler.submit({ executor: 'sleep', input: 'soon' })
    const unknown = await scheduler.submit({ executor: 'shell', input: 'rm -rf /' })
    await until(() => finished.length === 1, 'the bad task finishes')
    expect(await scheduler.getTask(bad.id)).toMatchObject({ state: 'failed', attempts: 1 })
    expect((await scheduler.getTask(bad.id))?.error).toMatch(/whole number of milliseconds/)
    expect(await scheduler.getTask(unknown.id)).toMatchObject({ state: 'pending', attempts: 0 })
  })
})
