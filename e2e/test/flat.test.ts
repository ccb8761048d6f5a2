// Scenarios 1, 3 and half of 4 on one flat Docker network: gateway, scheduler, 3 workers.
//  1. 50 tasks of mixed executors all succeed, with the right results.
//  3. a worker of another CA and a revoked worker are refused by gateway and scheduler, never get a task.
//  4. a worker killed mid-task: its task completes elsewhere.
import { getJson, type PeerView, submit, type TaskView, waitFinished, waitFor } from '../src/api.js'
import { killContainer } from '../src/docker-cli.js'
import { HyphaNode } from '../src/hypha-node.js'
import { Lab } from '../src/lab.js'
import { type E2ePki, writeE2ePki } from '../src/pki.js'
import { mixedTasks } from '../src/tasks.js'

let lab: Lab
let pki: E2ePki
let network: string
let gateway: HyphaNode
let scheduler: HyphaNode
let workers: HyphaNode[]
const PUBLIC = { HYPHA_NETWORK__NAT__REACHABILITY: 'public' }

beforeAll(async () => {
  lab = await Lab.create('flat')
  pki = await writeE2ePki(lab.dir, { nodes: ['gateway', 'scheduler', 'worker-1', 'worker-2', 'worker-3'], revoked: ['worker-revoked'], foreign: ['intruder'] })
  network = (await lab.network('net', 0)).name
  gateway = lab.track(await HyphaNode.start({ role: 'gateway', name: 'gateway', network, pki }))
  scheduler = lab.track(
    await HyphaNode.start({ role: 'scheduler', name: 'scheduler', network, pki, bootstrap: gateway.addresses, env: { ...PUBLIC, HYPHA_SCHEDULER__LEASE: '3s' } }),
  )
  workers = await Promise.all(
    ['worker-1', 'worker-2', 'worker-3'].map(async (name) =>
      lab.track(await HyphaNode.start({ role: 'worker', name, network, pki, bootstrap: gateway.addresses, env: { ...PUBLIC, HYPHA_WORKER__CAPACITY: '2' } })),
    ),
  )
}, 300_000)

afterAll(async () => {
  await lab?.cleanup()
}, 120_000)

it('runs 50 tasks of mixed executors, every result right', async () => {
  const batch = mixedTasks(50)
  const ids = await Promise.all(batch.map((task) => submit(scheduler.url, task.body)))
  const done = await waitFinished(scheduler.url, ids, 180_000)
  done.forEach((task, i) => {
    expect(task).toMatchObject({ state: 'succeeded', result: batch[i]?.result })
  })
  const used = new Set(done.map((t) => t.worker))
  expect(used.size).toBeGreaterThanOrEqual(2)
  for (const worker of used) expect(workers.map((w) => w.peerId)).toContain(worker)
  // the scheduler sees every worker, directly connected
  const peers = await getJson<PeerView[]>(`${scheduler.url}/peers`)
  for (const w of workers) expect(peers.find((p) => p.id === w.peerId)).toMatchObject({ direct: true })
})

it('refuses a worker of another CA and a revoked worker; neither gets a task', async () => {
  const intruders = await Promise.all(
    [
      { name: 'intruder', reason: 'untrusted' },
      // without the CRL: with it, the node would see itself revoked and not start at all
      { name: 'worker-revoked', reason: 'revoked' },
    ].map(async ({ name, reason }) => ({
      reason,
      node: lab.track(
        await HyphaNode.start({
          role: 'worker',
          name,
          network,
          pki,
          crl: false,
          // it knows where the scheduler is, not only the gateway
          bootstrap: [...gateway.addresses, ...scheduler.addresses],
          env: PUBLIC,
          wait: 'started',
        }),
      ),
    })),
  )
  for (const { node, reason } of intruders) {
    for (const refuser of [gateway, scheduler]) {
      const refusal = await waitFor(
        () => refuser.logLines().find((l) => l.msg === 'peer refused' && l.peerId === node.peerId),
        60_000,
        `${refuser.name} to refuse ${node.name}`,
      )
      expect(refusal.reason).toBe(reason)
    }
  }
  const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(scheduler.url, { executor: 'echo', input: `after intruders ${i}` })))
  const done = await waitFinished(scheduler.url, ids, 60_000)
  const intruderIds = intruders.map((i) => i.node.peerId)
  for (const task of done) {
    expect(task.state).toBe('succeeded')
    expect(intruderIds).not.toContain(task.worker)
  }
  const known = await getJson<Array<{ id: string }>>(`${scheduler.url}/workers`)
  for (const id of intruderIds) expect(known.map((w) => w.id)).not.toContain(id)
  for (const { node } of intruders) expect(node.logLines().some((l) => l.msg === 'task assigned')).toBe(false)
})

it('completes the task of a worker killed mid-task on another worker', async () => {
  const id = await submit(scheduler.url, { executor: 'sleep', input: '6000' })
  const running = await waitFor(async () => {
    const task = await getJson<TaskView>(`${scheduler.url}/tasks/${id}`)
    return task.state === 'running' ? task : undefined
  }, 60_000, 'the task to run')
  const victim = workers.find((w) => w.peerId === running.worker)
  if (victim === undefined) throw new Error(`task ${id} runs on an unknown worker ${running.worker}`)
  await killContainer(victim.container.getId())
  const [done] = await waitFinished(scheduler.url, [id], 90_000)
  expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { slept: 6000 } })
  expect(done?.worker).not.toBe(victim.peerId)
})
