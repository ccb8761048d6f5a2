// The task protocol end to end on real mTLS nodes over loopback: a gateway (bootstrap and gossip
// relay), a scheduler and two workers. Every executor completes; a worker that dies mid-task loses
// its lease and the task finishes on the other worker; a re-submitted id is idempotent.
import { createHash, randomBytes } from 'node:crypto'
import type { HyphaNode } from '@hypha/network-core'
import { fetchInput, INPUT_PROTOCOL, relayTaskTopics, Scheduler, TASK_PROTOCOL_VERSION, TASK_TOPICS, type TaskView, Worker } from '../src/index.js'
import { addressOf, type TestNetwork as TestNetworkType, TestNetwork, waitFor } from '@hypha/network-core/testing'
import { finishedTask } from './fixtures/tasks.js'

const LEASE_MS = 1_500
const nodeOptions = {
  transports: 'tcp' as const,
  pubsubTopics: TASK_TOPICS,
  toml: { 'network.nat': { reachability: 'public' } },
}

let net: TestNetworkType
let schedulerNode: HyphaNode
let scheduler: Scheduler
const workers: Array<{ node: HyphaNode; worker: Worker }> = []

function finished(id: string, timeoutMs?: number): Promise<TaskView> {
  return finishedTask(scheduler, id, timeoutMs)
}

beforeAll(async () => {
  net = await TestNetwork.create(4)
  const gateway = await net.start({ ...nodeOptions, role: 'gateway' })
  relayTaskTopics(gateway)
  const bootstrap = [addressOf(gateway, 'tcp')]
  schedulerNode = await net.start({ ...nodeOptions, role: 'scheduler', bootstrap })
  scheduler = new Scheduler(schedulerNode, { leaseMs: LEASE_MS, announceIntervalMs: 250 })
  await scheduler.start()
  for (let i = 0; i < 2; i++) {
    const node = await net.start({ ...nodeOptions, role: 'worker', bootstrap })
    const worker = new Worker(node, { capacity: 2, statusIntervalMs: 500, requestTimeoutMs: 2_000 })
    await worker.start()
    workers.push({ node, worker })
  }
  await waitFor(() => scheduler.workers().length === 2, 'the scheduler has heard from both workers')
})

afterAll(async () => {
  await scheduler?.stop()
  await Promise.all(workers.map(({ worker }) => worker.stop()))
  await net?.cleanup()
})

it('runs echo, sleep and sha256 (2 MiB, streamed) tasks to the right results', async () => {
  const big = randomBytes(2 * 1024 * 1024)
  const [echo, sleep, sha] = await Promise.all([
    scheduler.submit({ executor: 'echo', input: 'hello, hypha' }),
    scheduler.submit({ executor: 'sleep', input: '200' }),
    scheduler.submit({ executor: 'sha256', input: { base64: big.toString('base64') } }),
  ])
  const [echoed, slept, hashed] = await Promise.all([finished(echo.id), finished(sleep.id), finished(sha.id)])
  expect(echoed).toMatchObject({ state: 'succeeded', attempts: 1, result: { echo: 'hello, hypha' } })
  expect(slept).toMatchObject({ state: 'succeeded', result: { slept: 200 } })
  expect(hashed).toMatchObject({ state: 'succeeded', result: { sha256: createHash('sha256').update(big).digest('hex') } })
  const workerIds = new Set(workers.map(({ node }) => node.peerId.toString()))
  for (const view of [echoed, slept, hashed]) expect(workerIds.has(view.worker as string)).toBe(true)
  expect(scheduler.workers().map((w) => w.executors.sort())).toEqual([['echo', 'sha256', 'sleep'], ['echo', 'sha256', 'sleep']])
})

it('treats a re-submitted id as the same task', async () => {
  const first = await scheduler.submit({ id: 'idem-1', executor: 'echo', input: 'once' })
  const again = await scheduler.submit({ id: 'idem-1', executor: 'echo', input: 'once' })
  expect(first).toEqual({ id: 'idem-1', created: true })
  expect(again).toEqual({ id: 'idem-1', created: false })
  expect(await finished('idem-1')).toMatchObject({ state: 'succeeded', attempts: 1, result: { echo: 'once' } })
  expect(await scheduler.submit({ id: 'idem-1', executor: 'echo', input: 'once' })).toEqual({ id: 'idem-1', created: false })
  await expect(scheduler.submit({ id: 'idem-1', executor: 'echo', input: 'other' })).rejects.toMatchObject({ name: 'TaskConflictError' })
  expect((await scheduler.listTasks()).filter((t) => t.id === 'idem-1')).toHaveLength(1)
})

it('serves task input only to the holder of its lease', async () => {
  const { id } = await scheduler.submit({ id: 'finished-input', executor: 'echo', input: 'secret' })
  await finished(id)
  const { node } = workers[0] as { node: HyphaNode }
  const stream = await node.libp2p.dialProtocol(schedulerNode.peerId, INPUT_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
  const chunks = fetchInput(stream, { v: TASK_PROTOCOL_VERSION, taskId: id, leaseId: 'guessed' }, { signal: AbortSignal.timeout(5_000), maxBytes: 1024 })
  await expect(chunks.next()).rejects.toMatchObject({ name: 'InputFetchError', reason: 'no-lease' })
})

it('re-queues the task of a worker that dies mid-task and finishes it on the other worker', async () => {
  const { id } = await scheduler.submit({ executor: 'sleep', input: '2500' })
  let first: string | undefined
  await waitFor(async () => {
    const view = await scheduler.getTask(id)
    first = view?.state === 'running' ? view.worker : undefined
    return first !== undefined
  }, 'the long task runs')
  const victim = workers.find(({ node }) => node.peerId.toString() === first)
  if (victim === undefined) throw new Error('the task runs on an unknown worker')
  const requeued = new Promise<string>((resolve) => {
    scheduler.addEventListener('task:requeued', (event) => { if (event.detail.id === id) resolve(event.detail.reason) })
  })
  // Abrupt: the node goes away without the engine's graceful hand-back.
  await victim.node.stop()
  expect(await requeued).toBe('lease expired')
  const view = await finished(id, 15_000)
  expect(view).toMatchObject({ state: 'succeeded', attempts: 2, result: { slept: 2500 } })
  expect(view.worker).not.toBe(first)
})
