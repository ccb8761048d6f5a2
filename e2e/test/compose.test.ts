// The compose smoke test: docker-compose.yml as an operator runs it (one-shot PKI, gateway,
// scheduler, two workers via --scale), with docker-compose 1.29 (Debian's) driven by
// Testcontainers: up, a task submitted through the published scheduler port, the scheduler
// SIGKILLed mid-run and started again on its data volume, down with volumes.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from 'testcontainers'
import { getJson, submit, type TaskView, waitFinished, waitFor } from '../src/api.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** Host ports away from the defaults, so a stack an operator runs on this machine is left alone. */
const PORTS = { gateway: 18_080 + (process.pid % 500), scheduler: 18_580 + (process.pid % 500), p2p: 14_001 + (process.pid % 500) }
let environment: StartedDockerComposeEnvironment | undefined
const PROJECT = `hyphae2e${process.pid}`

beforeAll(async () => {
  environment = await new DockerComposeEnvironment(repoRoot, 'docker-compose.yml')
    .withProjectName(PROJECT)
    .withEnvironment({
      HYPHA_GATEWAY_HTTP_PORT: String(PORTS.gateway),
      HYPHA_SCHEDULER_HTTP_PORT: String(PORTS.scheduler),
      HYPHA_GATEWAY_P2P_PORT: String(PORTS.p2p),
    })
    .withClientOptions({
      executable: { standalone: true, executablePath: process.env.HYPHA_E2E_COMPOSE ?? 'docker-compose' },
      commandOptions: ['--scale', 'worker=2'],
    })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withWaitStrategy('pki_1', Wait.forLogMessage(/dev PKI ready/))
    .withStartupTimeout(180_000)
    .up()
}, 300_000)

afterAll(async () => {
  await environment?.down({ removeVolumes: true, timeout: 30_000 })
}, 120_000)

it('brings the stack up, runs a task through the published API, and sees both workers', async () => {
  const scheduler = `http://127.0.0.1:${PORTS.scheduler}`
  const workers = await waitFor(async () => {
    // workers announce themselves on GossipSub (through the gateway) before they ever dial the scheduler
    const known = await getJson<Array<{ id: string }>>(`${scheduler}/workers`)
    return known.length >= 2 ? known : undefined
  }, 60_000, 'two workers known to the scheduler')
  const id = await submit(scheduler, { executor: 'sha256', input: 'hello' })
  const [task] = await waitFinished(scheduler, [id], 60_000)
  expect(task).toMatchObject({
    state: 'succeeded',
    result: { sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' },
  })
  expect(workers.map((w) => w.id)).toContain(task?.worker)
  const ready = await fetch(`http://127.0.0.1:${PORTS.gateway}/health/ready`)
  expect(ready.status).toBe(200)
})

it('keeps every task of a scheduler SIGKILLed mid-run on its data volume', async () => {
  const scheduler = `http://127.0.0.1:${PORTS.scheduler}`
  const inputs = ['1500', '2000', '2500', '1500', '2000', '2500']
  const ids = await Promise.all(inputs.map((input) => submit(scheduler, { executor: 'sleep', input })))
  await waitFor(async () => ((await getJson<TaskView[]>(`${scheduler}/tasks?state=running`)).length > 0 ? true : undefined), 30_000, 'a task to run')
  const name = execFileSync('docker', ['ps', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', 'label=com.docker.compose.service=scheduler', '--format', '{{.Names}}'], { encoding: 'utf8' }).trim()
  expect(name).not.toBe('')
  const state = (): { running: boolean; startedAt: string } => {
    const [running, startedAt] = execFileSync('docker', ['inspect', '-f', '{{.State.Running}} {{.State.StartedAt}}', name], { encoding: 'utf8' }).trim().split(' ')
    return { running: running === 'true', startedAt: startedAt ?? '' }
  }
  const before = state()
  execFileSync('docker', ['kill', '--signal', 'KILL', name])
  // the restart policy may bring it back by itself; otherwise start it as an operator would
  const after = await waitFor(() => {
    const now = state()
    return !now.running || now.startedAt !== before.startedAt ? now : undefined
  }, 10_000, 'the scheduler to die')
  if (!after.running) execFileSync('docker', ['start', name])
  await waitFor(async () => {
    try {
      return (await fetch(`${scheduler}/health/ready`)).status === 200 ? true : undefined
    } catch {
      return undefined
    }
  }, 90_000, 'the restarted scheduler to be ready')
  const done = await waitFinished(scheduler, ids, 90_000)
  for (const [i, task] of done.entries()) expect(task).toMatchObject({ state: 'succeeded', result: { slept: Number(inputs[i]) } })
}, 240_000)
