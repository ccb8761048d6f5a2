// Two scheduler replicas on one PostgreSQL task set (a throw-away cluster, never a mock), as
// processes through the bins: one leads, the other stands by and serves reads and submissions;
// the leader SIGKILLed mid-run, the standby leads within two leases, no task is lost and each
// result is stored once.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '@hypha/app-kit/testing'
import { type PostgresCluster, startPostgres } from '@hypha/tasks/testing'
import { LocalStack, type LogLine, type StackNode } from '../src/index.js'

const LEASE_MS = 2_000
let dir: string
let cluster: PostgresCluster | undefined
let stack: LocalStack
let standby: StackNode
const logs: LogLine[] = []

async function get(node: StackNode, path: string): Promise<any> {
  const response = await fetch(`${node.url}${path}`)
  return response.json()
}

async function submit(node: StackNode, body: unknown): Promise<string> {
  const response = await fetch(`${node.url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (response.status !== 201) throw new Error(`POST /tasks on ${node.name} answered ${response.status}: ${await response.text()}`)
  return ((await response.json()) as { id: string }).id
}

/** Every task ends succeeded, having slept its own input's milliseconds. */
async function expectSlept(node: StackNode, ids: readonly string[], inputs: readonly string[]): Promise<void> {
  for (const [i, id] of ids.entries()) {
    const done = await waitFor(async () => {
      const task = await get(node, `/tasks/${id}`)
      return task.state === 'succeeded' || task.state === 'failed' ? task : undefined
    }, 60_000, `task ${id} to finish`)
    expect(done).toMatchObject({ state: 'succeeded', result: { slept: Number(inputs[i]) } })
  }
}

beforeAll(async () => {
  const started = await startPostgres()
  cluster = started
  dir = await mkdtemp(join(tmpdir(), 'hypha-failover-'))
  stack = await LocalStack.start({
    dir,
    workers: 2,
    onLog: (line) => logs.push(line),
    env: (_name, role) => (role === 'scheduler' ? { HYPHA_SCHEDULER__STORE: started.url, HYPHA_SCHEDULER__LEASE: `${LEASE_MS}ms` } : {}),
  })
  standby = await stack.addScheduler('scheduler-2')
}, 180_000)

afterAll(async () => {
  await stack?.stop(5_000)
  await cluster?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
}, 60_000)

it('hands the task set to the standby within two leases of the leader\'s SIGKILL, losing no task', async () => {
  const leader = stack.scheduler
  expect(await get(leader, '/scheduler')).toMatchObject({ role: 'leader', leader: leader.info.peerId })
  expect(await get(standby, '/scheduler')).toMatchObject({ role: 'standby', leader: leader.info.peerId })

  // both replicas take submissions into the one task set
  const inputs = Array.from({ length: 20 }, (_, i) => String(300 + 100 * (i % 6)))
  const ids = await Promise.all(inputs.map((input, i) => submit(i % 2 === 0 ? leader : standby, { executor: 'sleep', input })))
  await waitFor(async () => ((await get(standby, '/tasks?state=running')) as unknown[]).length > 0 ? true : undefined, 20_000, 'some tasks to run')

  await stack.kill('scheduler')
  const killedAt = Date.now()
  await waitFor(async () => ((await get(standby, '/scheduler')).role === 'leader' ? true : undefined), 2 * LEASE_MS + 5_000, 'the standby to lead')
  const failoverMs = Date.now() - killedAt
  process.stdout.write(`fail-over: the standby led ${failoverMs} ms after the leader's SIGKILL (lease ${LEASE_MS} ms)\n`)
  expect(failoverMs).toBeLessThan(2 * LEASE_MS)

  await expectSlept(standby, ids, inputs)
  expect((await get(standby, '/scheduler')).tasks).toMatchObject({ succeeded: 20, pending: 0, assigned: 0, running: 0 })
  // stored once: no task's result was accepted twice, on either replica
  const accepted = logs.filter((l) => l.msg === 'task succeeded').map((l) => String(l.fields.task))
  expect(new Set(accepted).size).toBe(accepted.length)
  expect(logs.some((l) => l.node === 'scheduler-2' && l.msg === 'leading the task set')).toBe(true)
}, 180_000)

it('resumes every task when the only replica left is SIGKILLed mid-run and another starts on the same database', async () => {
  const inputs = Array.from({ length: 10 }, (_, i) => String(400 + 100 * (i % 4)))
  const ids = await Promise.all(inputs.map((input) => submit(standby, { executor: 'sleep', input })))
  await waitFor(async () => ((await get(standby, '/tasks?state=running')) as unknown[]).length > 0 ? true : undefined, 20_000, 'some tasks to run')
  await stack.kill('scheduler-2')
  const restarted = await stack.restart('scheduler')
  await waitFor(async () => ((await get(restarted, '/scheduler')).role === 'leader' ? true : undefined), 10_000, 'the restarted replica to lead')
  await expectSlept(restarted, ids, inputs)
}, 120_000)

it('is not ready while its database is unreachable, and says why', async () => {
  const scheduler = stack.scheduler
  expect((await fetch(`${scheduler.url}/health/ready`)).status).toBe(200)
  await cluster?.stop()
  cluster = undefined
  const body = await waitFor(async () => {
    const response = await fetch(`${scheduler.url}/health/ready`)
    return response.status === 503 ? ((await response.json()) as any) : undefined
  }, 20_000, 'readiness to fail')
  expect(JSON.stringify(body)).toMatch(/task store unreachable/)
}, 60_000)
