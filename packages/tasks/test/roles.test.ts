// Roles in certificates, enforced by the task protocol on real mTLS nodes over loopback: a node
// holding a worker certificate that announces tasks is ignored by workers; a node holding a
// scheduler certificate cannot offer or report; a roleless certificate works only where the
// config allows it.
import type { HyphaNode } from '@hypha/network-core'
import { addressOf, type TestNetwork as TestNetworkType, TestNetwork, waitFor } from '@hypha/network-core/testing'
import { RoleCheck, type RoleRefusal, relayTaskTopics, Scheduler, TASK_PROTOCOL_VERSION, TASK_TOPICS, Worker } from '../src/index.js'
import { finishedTask } from './fixtures/tasks.js'

const nodeOptions = { transports: 'tcp' as const, pubsubTopics: TASK_TOPICS, toml: { 'network.nat': { reachability: 'public' } } }

// node-<i> in start order: 0 gateway, 1 scheduler, 2 worker, 3 a worker certificate, 4 a scheduler certificate, 5 roleless
const ROLES = { 0: ['gateway'], 1: ['scheduler'], 2: ['worker'], 3: ['worker'], 4: ['scheduler'] } as const

let net: TestNetworkType
let bootstrap: string[]
let scheduler: Scheduler
let worker: Worker
const engines: Array<{ stop(): Promise<void> }> = []

function refusals(target: Scheduler | Worker): RoleRefusal[] {
  const seen: RoleRefusal[] = []
  const record = (event: CustomEvent<RoleRefusal>): void => {
    seen.push(event.detail)
  }
  if (target instanceof Scheduler) target.addEventListener('role:refused', record)
  else target.addEventListener('role:refused', record)
  return seen
}

beforeAll(async () => {
  net = await TestNetwork.create(6, { roles: ROLES })
  const gateway = await net.start({ ...nodeOptions, role: 'gateway' })
  relayTaskTopics(gateway)
  bootstrap = [addressOf(gateway, 'tcp')]
  const schedulerNode = await net.start({ ...nodeOptions, role: 'scheduler', bootstrap })
  scheduler = new Scheduler(schedulerNode, { leaseMs: 1_500, announceIntervalMs: 200 })
  await scheduler.start()
  engines.push(scheduler)
  const workerNode = await net.start({ ...nodeOptions, role: 'worker', bootstrap })
  worker = new Worker(workerNode, { statusIntervalMs: 300 })
  await worker.start()
  engines.push(worker)
  await waitFor(() => scheduler.workers().length === 1, 'the scheduler has heard from the worker')
})

afterAll(async () => {
  for (const engine of engines.reverse()) await engine.stop()
  await net?.cleanup()
})

it('ignores announcements from a node whose certificate is a worker certificate', async () => {
  const refusedByWorker = refusals(worker)
  // node-3: a worker certificate, running a scheduler engine
  const rogueNode: HyphaNode = await net.start({ ...nodeOptions, role: 'scheduler', bootstrap })
  const rogue = new Scheduler(rogueNode, { leaseMs: 1_500, announceIntervalMs: 100 })
  await rogue.start()
  engines.push(rogue)
  const { id } = await rogue.submit({ executor: 'echo', input: 'run me' })
  await waitFor(() => refusedByWorker.some((r) => r.peer === rogueNode.peerId.toString()), 'the worker refuses the rogue announcer', 10_000)
  expect(refusedByWorker[0]).toMatchObject({ role: 'scheduler', reason: expect.stringContaining('is for worker, not scheduler') })
  // a real scheduler's task still runs on the worker; the rogue's never leaves pending
  const real = await scheduler.submit({ executor: 'echo', input: 'real' })
  expect(await finishedTask(scheduler, real.id)).toMatchObject({ state: 'succeeded', result: { echo: 'real' } })
  expect((await rogue.getTask(id))?.state).toBe('pending')
  await rogue.stop()
})

it('refuses offers, pulls and reports from a node whose certificate is a scheduler certificate', async () => {
  const refusedByScheduler = refusals(scheduler)
  // node-4: a scheduler certificate, running a worker engine; only it has the label the tasks need
  const rogueNode = await net.start({ ...nodeOptions, role: 'worker', bootstrap })
  const rogue = new Worker(rogueNode, { statusIntervalMs: 200, labels: { zone: 'rogue' } })
  const rogueRan: string[] = []
  rogue.addEventListener('task:assigned', (event) => rogueRan.push(event.detail.taskId))
  await rogue.start()
  engines.push(rogue)
  const { id } = await scheduler.submit({ executor: 'echo', input: 'for the rogue', requirements: { labels: { zone: 'rogue' } } })
  await waitFor(() => refusedByScheduler.some((r) => r.peer === rogueNode.peerId.toString()), 'the scheduler refuses the rogue worker', 10_000)
  expect(refusedByScheduler.find((r) => r.peer === rogueNode.peerId.toString())).toMatchObject({
    role: 'worker',
    protocol: '/hypha/tasks/offer/1.0.0',
    reason: expect.stringContaining('is for scheduler, not worker'),
  })
  expect(rogueRan).toEqual([])
  expect((await scheduler.getTask(id))?.state).toBe('pending')
  // its status messages do not make it a worker, and a report straight to the handler is refused
  expect(scheduler.workers().map((w) => w.id)).not.toContain(rogueNode.peerId.toString())
  const answer = await scheduler.handleReport(rogueNode.peerId.toString(), { v: TASK_PROTOCOL_VERSION, taskId: id, leaseId: 'x', outcome: 'succeeded', result: null })
  expect(answer.status).toBe('refused')
  await rogue.stop()
})

it('takes a roleless certificate as any role only while allow_roleless_peers allows it', async () => {
  // node-5: a roleless certificate
  const roleless = await net.start({ ...nodeOptions, role: 'worker', bootstrap })
  const schedulerNode = net.nodes[1] as HyphaNode
  await schedulerNode.dial(roleless.getMultiaddrs()[0] as Parameters<HyphaNode['dial']>[0])
  const identity = schedulerNode.identity
  if (identity === undefined) throw new Error('the scheduler node has no identity')
  const peer = roleless.peerId.toString()
  await waitFor(() => identity.rolesOf(peer) !== undefined, 'the scheduler has verified the roleless node')
  expect([...(identity.rolesOf(peer) ?? [])]).toEqual([])
  expect([...(identity.rolesOf((net.nodes[2] as HyphaNode).peerId) ?? [])]).toEqual(['worker'])
  expect(new RoleCheck(identity, true).refusal(peer, 'worker')).toBeUndefined()
  expect(new RoleCheck(identity, false).refusal(peer, 'worker')).toBe(`the certificate of ${peer} names no role, and security.allow_roleless_peers is false`)
})
