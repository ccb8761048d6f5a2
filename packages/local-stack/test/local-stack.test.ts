// The three apps together, as child processes on loopback (the local stack of `npm start`):
// every executor's tasks complete with the right result, a worker killed mid-task loses nothing,
// a worker of a foreign CA never gets a task, and the HTTP API and endpoints have their shape.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '@hypha/app-kit/testing'
import { HyphaClient } from '@hypha/client'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { loadIdentityMaterial, writeDevPki } from '@hypha/mtls'
import { LocalStack, type LogLine, loopbackAddresses, type NodeProcess, runDemo } from '../src/index.js'
import { REPO, alertExpressions, dashboardExpressions, exportedMetricNames, promtool, queriedMetricNames } from './observability-files.js'

const LEASE_MS = 2_000

interface OpenApiDocument {
  paths: Record<string, unknown>
  components: { schemas: Record<string, object> }
}
let dir: string
let stack: LocalStack
const logs: LogLine[] = []

interface Task {
  id: string
  state: string
  worker?: string
  attempts: number
  result?: unknown
  error?: string
}

/**
 * sha256 (hex) of what the blob and weights example jobs write: `mib` times a MiB made of
 * sha256(seed) repeated.
 */
function repeatedDigestSha256(seed: string, mib: number): string {
  const block = Buffer.concat(Array.from({ length: 32768 }, () => createHash('sha256').update(seed).digest()))
  const hash = createHash('sha256')
  for (let i = 0; i < mib; i++) hash.update(block)
  return hash.digest('hex')
}

async function http(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.scheduler.url}${path}`, {
    ...init,
    ...(init?.json !== undefined ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.json) } : {}),
  })
  const text = await response.text()
  return { status: response.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text }
}

async function submit(json: unknown): Promise<string> {
  const { status, body } = await http('/tasks', { json })
  if (status !== 201) throw new Error(`POST /tasks answered ${status}: ${JSON.stringify(body)}`)
  return body.id as string
}

async function finished(id: string, ms = 30_000): Promise<Task> {
  return waitFor(async () => {
    const { body } = await http(`/tasks/${id}`)
    return body.state === 'succeeded' || body.state === 'failed' ? (body as Task) : undefined
  }, ms, `task ${id} to finish`)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hypha-stack-'))
  stack = await LocalStack.start({
    dir,
    workers: 2,
    onLog: (line) => logs.push(line),
    env: (_name, role) => (role === 'scheduler' ? { HYPHA_SCHEDULER__LEASE: `${LEASE_MS}ms`, HYPHA_SCHEDULER__MAX_INPUT_SIZE: '1MiB' } : {}),
  })
}, 120_000)

afterAll(async () => {
  await stack?.stop(5_000)
  if (process.env.KEEP_STACK_DIR === undefined) await rm(dir, { recursive: true, force: true })
}, 60_000)

describe('the local stack (gateway, scheduler, 2 workers as processes)', () => {
  it('runs tasks of every executor to the right result', async () => {
    const large = randomBytes(200 * 1024) // beyond the inline limit: the worker fetches it over a stream
    const ids = {
      echo: await submit({ executor: 'echo', input: 'hello stack' }),
      sha256: await submit({ executor: 'sha256', input: 'hello' }),
      sha256Large: await submit({ executor: 'sha256', input: { base64: large.toString('base64') } }),
      sleep: await submit({ executor: 'sleep', input: '300' }),
      echoBytes: await submit({ executor: 'echo', input: { base64: Buffer.from([0, 1, 255]).toString('base64') } }),
    }
    const results = Object.fromEntries(await Promise.all(Object.entries(ids).map(async ([k, id]) => [k, await finished(id)] as const)))
    for (const task of Object.values(results)) expect(task).toMatchObject({ state: 'succeeded', attempts: 1 })
    expect(results.echo?.result).toEqual({ echo: 'hello stack' })
    expect(results.sha256?.result).toEqual({ sha256: createHash('sha256').update('hello').digest('hex') })
    expect(results.sha256Large?.result).toEqual({ sha256: createHash('sha256').update(large).digest('hex') })
    expect(results.sleep?.result).toEqual({ slept: 300 })
    expect(results.echoBytes?.result).toEqual({ echo: { base64: 'AAH/' } })
    const workerIds = stack.workers.map((w) => w.info.peerId)
    for (const task of Object.values(results)) expect(workerIds).toContain(task.worker)

    const { body: list } = await http('/tasks?state=succeeded')
    expect((list as Task[]).map((t) => t.id)).toEqual(expect.arrayContaining(Object.values(ids)))
  }, 60_000)

  it('runs the configured process executors: progress over the job bridge, a JSON result, a 50 MiB result file the client downloads with its sha256 checked', async () => {
    const client = new HyphaClient(stack.scheduler.url)
    const input = randomBytes(300 * 1024)
    const digest = await client.submit({ executor: 'digest', input: { base64: input.toString('base64') } })
    expect(digest.created).toBe(true)
    const progress: string[] = []
    const digested = await client.wait(digest.id, { intervalMs: 50, timeoutMs: 30_000, onProgress: (task) => progress.push(task.state) })
    expect(digested).toMatchObject({ state: 'succeeded', result: { bytes: input.byteLength, sha256: createHash('sha256').update(input).digest('hex') } })
    expect(progress.at(-1)).toBe('succeeded')
    expect(await client.result(digest.id)).toEqual(digested.result)

    const blob = await client.submit({ executor: 'blob', input: '50' })
    const done = await client.wait(blob.id, { timeoutMs: 60_000 })
    const sha256 = repeatedDigestSha256('50', 50)
    expect(done).toMatchObject({ state: 'succeeded', resultPayload: { size: 50 * 1024 * 1024, sha256 } })
    const file = join(dir, 'blob.bin')
    expect(await client.downloadResult(blob.id, file)).toEqual({ size: 50 * 1024 * 1024, sha256 })
    expect((await stat(file)).size).toBe(50 * 1024 * 1024)
    const response = await fetch(`${stack.scheduler.url}/tasks/${blob.id}/result`)
    expect(response.headers.get('content-type')).toBe('application/octet-stream')
    expect(response.headers.get('x-hypha-sha256')).toBe(sha256)
    await response.body?.cancel()

    // a job that fails says why, and has no result
    const bad = await client.wait((await client.submit({ executor: 'blob', input: 'lots', maxAttempts: 1 })).id, { timeoutMs: 30_000 })
    expect(bad).toMatchObject({ state: 'failed' })
    expect(bad.error).toContain('blob exited with code 2: blob expects a whole number of MiB from 1 to 1024, got "lots"')
    await expect(client.result(bad.id)).rejects.toMatchObject({ name: 'HyphaApiError', status: 404 })
  }, 90_000)

  it('runs the example jobs of docs/examples/jobs (Python: progress twice and a 50 MiB result file; shell: a JSON result) through the client', async () => {
    const examples = `${REPO}docs/examples/jobs/`
    const executors = [
      '[worker.executors.weights]',
      `command = ${JSON.stringify(['python3', join(examples, 'weights.py')])}`,
      'result = "file"',
      '',
      '[worker.executors.shell-digest]',
      `command = ${JSON.stringify(['sh', join(examples, 'digest.sh')])}`,
    ].join('\n')
    await stack.addWorker('worker-examples', { workerToml: `capacity = 2\n\n${executors}` })
    const client = new HyphaClient(stack.scheduler.url)
    const progress = new Set<string>()
    const { id } = await client.submit({ executor: 'weights', input: JSON.stringify({ seed: 'model-7', mib: 50 }) })
    const task = await client.wait(id, { intervalMs: 20, timeoutMs: 60_000, onProgress: (t) => { if (t.progress?.message !== undefined) progress.add(t.progress.message) } })
    const sha256 = repeatedDigestSha256('model-7', 50)
    expect(task).toMatchObject({ state: 'succeeded', resultPayload: { size: 50 * 1024 * 1024, sha256 }, progress: { fraction: 1, message: 'weights written' } })
    expect(await client.downloadResult(id, join(dir, 'weights.bin'))).toEqual({ size: 50 * 1024 * 1024, sha256 })
    // polling sees the last progress at least (packages/tasks/test/process-jobs.test.ts checks
    // that every report reaches the scheduler)
    expect(progress.has('weights written')).toBe(true)

    const text = 'hash me in shell'
    const shell = await client.wait((await client.submit({ executor: 'shell-digest', input: text })).id, { timeoutMs: 30_000 })
    expect(shell).toMatchObject({ state: 'succeeded', result: { bytes: text.length, sha256: createHash('sha256').update(text).digest('hex') } })
  }, 120_000)

  it('describes its HTTP API in a valid OpenAPI 3.1 document whose schemas the answers match', async () => {
    const document = (await (await fetch(`${stack.scheduler.url}/openapi.json`)).json()) as OpenApiDocument
    const validation = await new Validator().validate(document as unknown as Parameters<Validator["validate"]>[0])
    expect(validation.errors ?? []).toEqual([])
    expect(validation.valid).toBe(true)
    expect(Object.keys(document.paths).sort()).toEqual(
      ['/', '/health/live', '/health/ready', '/metrics', '/network', '/openapi.json', '/peers', '/scheduler', '/tasks', '/tasks/{id}', '/tasks/{id}/result', '/workers'].sort(),
    )
    // every node serves the common part
    const gateway = (await (await fetch(`${stack.gateway.url}/openapi.json`)).json()) as OpenApiDocument
    expect(Object.keys(gateway.paths)).toEqual(expect.arrayContaining(['/', '/health/ready', '/metrics', '/network', '/peers']))
    expect(gateway.paths).not.toHaveProperty('/tasks')

    // the answers have the shape the document gives them
    const ajv = new Ajv2020({ strict: false })
    for (const [name, schema] of Object.entries(document.components.schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`)
    const check = (name: string, value: unknown): void => {
      const validate = ajv.getSchema(`#/components/schemas/${name}`)
      if (validate === undefined) throw new Error(`no schema ${name}`)
      expect({ name, valid: validate(value), errors: validate.errors ?? null }).toEqual({ name, valid: true, errors: null })
    }
    const client = new HyphaClient(stack.scheduler.url)
    const { id } = await client.submit({ executor: 'echo', input: 'described' })
    check('TaskView', await client.wait(id, { timeoutMs: 30_000 }))
    for (const task of await client.list({ limit: 20 })) check('TaskView', task)
    for (const worker of await client.workers()) check('WorkerView', worker)
    check('SchedulerView', await (await fetch(`${stack.scheduler.url}/scheduler`)).json())
    for (const peer of (await (await fetch(`${stack.scheduler.url}/peers`)).json()) as unknown[]) check('PeerView', peer)
    for (const node of [stack.gateway, stack.scheduler]) check('NetworkView', await (await fetch(`${node.url}/network`)).json())
    const invalid = await fetch(`${stack.scheduler.url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"executor":"Bad"}' })
    check('Problem', await invalid.json())
  }, 60_000)

  it('exports every metric the dashboard and the alert rules query, and promtool finds nothing wrong with its hypha_* metrics', async () => {
    const exported = new Set<string>()
    const roles = [stack.gateway, stack.scheduler, stack.workers[0]].filter((n) => n !== undefined)
    for (const node of roles) {
      const text = await (await fetch(`${node.url}/metrics`)).text()
      for (const name of exportedMetricNames(text)) exported.add(name)
      // promtool's lint: libp2p's and prom-client's own names draw warnings we cannot rename
      const problems = promtool(['check', 'metrics'], text).output.split('\n').filter((line) => line.trim() !== '')
      expect({ role: node.role, problems: problems.filter((line) => line.startsWith('hypha_')) }).toEqual({ role: node.role, problems: [] })
    }
    const queried = queriedMetricNames([...dashboardExpressions(), ...alertExpressions()])
    expect([...queried].filter((name) => !exported.has(name))).toEqual([])
  }, 30_000)

  it('cancels a running task (DELETE /tasks/:id) and refuses to cancel a finished one', async () => {
    const id = await submit({ executor: 'sleep', input: '60000' })
    await waitFor(async () => ((await http(`/tasks/${id}`)).body.state === 'running' ? true : undefined), 20_000, 'the task to run')
    const cancelled = await new HyphaClient(stack.scheduler.url).cancel(id, 'changed my mind')
    expect(cancelled).toMatchObject({ id, state: 'failed', error: 'cancelled: changed my mind' })
    // the worker learns at its next renewal and stops the job
    await waitFor(
      async () => logs.find((l) => l.msg === 'task finished' && l.fields.taskId === id && l.fields.outcome === 'lease-lost'),
      10_000,
      'the worker to stop the cancelled task',
    )
    expect((await http(`/tasks/${id}`, { method: 'DELETE' })).status).toBe(409)
    expect((await http('/tasks/no-such-task', { method: 'DELETE' })).status).toBe(404)
  }, 60_000)

  it('answers bad requests with clear errors and keeps idempotent ids', async () => {
    const invalid = await http('/tasks', { json: { executor: 'Bad Name', input: 1, extra: true } })
    expect(invalid.status).toBe(400)
    expect(invalid.body.problems.map((p: { path: string }) => p.path).sort()).toEqual(['(root)', 'executor', 'input'])

    expect((await http('/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"executor":' })).status).toBe(400)
    expect((await http('/tasks/no-such-task')).status).toBe(404)
    expect((await http('/tasks?state=sleeping')).status).toBe(400)

    const first = await http('/tasks', { json: { id: 'job-1', executor: 'echo', input: 'a' } })
    expect(first).toEqual({ status: 201, body: { id: 'job-1' } })
    expect(await http('/tasks', { json: { id: 'job-1', executor: 'echo', input: 'a' } })).toEqual({ status: 200, body: { id: 'job-1' } })
    expect((await http('/tasks', { json: { id: 'job-1', executor: 'echo', input: 'b' } })).status).toBe(409)

    // max_input_size is 1 MiB here: the engine refuses a larger input, the body parser a larger body
    expect((await http('/tasks', { json: { executor: 'echo', input: 'x'.repeat(1024 * 1024 + 1) } })).status).toBe(413)
    expect((await http('/tasks', { json: { executor: 'echo', input: 'x'.repeat(2 * 1024 * 1024) } })).status).toBe(413)
    // the scheduler is still fine
    expect((await finished('job-1')).result).toEqual({ echo: 'a' })

    // newest first: the latest submissions, paged on backwards
    expect((await http('/tasks', { json: { id: 'job-2', executor: 'echo', input: 'b' } })).status).toBe(201)
    const newest = (await http('/tasks?order=newest&limit=2')).body as Task[]
    expect(newest.map((t) => t.id)).toEqual(['job-2', 'job-1'])
    const before = (await http('/tasks?order=newest&limit=1&after=job-2')).body as Task[]
    expect(before.map((t) => t.id)).toEqual(['job-1'])
    expect((await http('/tasks?order=latest')).status).toBe(400)
    expect((await new HyphaClient(stack.scheduler.url).list({ newestFirst: true, limit: 1 })).map((t) => t.id)).toEqual(['job-2'])
  }, 60_000)

  it('serves health, metrics and peers on every node', async () => {
    for (const node of stack.nodes) {
      const live = await fetch(`${node.url}/health/live`)
      expect(live.status).toBe(200)
      const ready = await fetch(`${node.url}/health/ready`)
      expect(ready.status).toBe(200)
      expect(await ready.json()).toMatchObject({ status: 'ok', info: { role: { role: node.role, status: 'up' } } })

      const metrics = await (await fetch(`${node.url}/metrics`)).text()
      expect(metrics).toMatch(/^hypha_connections\{transport="quic",path="direct"\} \d+$/m)
      expect(metrics).toContain('# TYPE hypha_request_duration_seconds histogram')
      if (node.role === 'scheduler') expect(metrics).toMatch(/^hypha_scheduler_tasks_finished_total\{state="succeeded"\} [1-9]\d*$/m)
      if (node.role === 'worker') expect(metrics).toMatch(/^hypha_worker_tasks_total\{outcome="succeeded"\} \d+$/m)

      const peers = (await (await fetch(`${node.url}/peers`)).json()) as Array<Record<string, unknown>>
      expect(peers.length).toBeGreaterThan(0)
      for (const peer of peers) {
        expect(peer).toMatchObject({ id: expect.any(String), addresses: expect.any(Array), transport: expect.any(String), direct: expect.any(Boolean) })
        expect(peer).toHaveProperty('latencyMs')
      }
    }
    const { body: workers } = await http('/workers')
    expect((workers as Array<{ id: string }>).map((w) => w.id).sort()).toEqual(stack.workers.map((w) => w.info.peerId).sort())
    expect(workers[0]).toMatchObject({ executors: expect.arrayContaining(['echo', 'sleep', 'sha256', 'digest', 'blob']), capacity: 2, connection: expect.any(String), lastSeen: expect.any(Number) })
  }, 30_000)

  it('never gives a task to a worker of a foreign CA', async () => {
    const foreignPki = await writeDevPki({ dir: join(dir, 'foreign-pki'), organisation: 'mallory', nodes: ['intruder'] })
    const intruderFiles = foreignPki.nodes.intruder
    if (intruderFiles === undefined) throw new Error('no intruder identity')
    const intruderId = (await loadIdentityMaterial(intruderFiles)).peerId.toString()
    // it knows where the scheduler is, not only the gateway
    const bootstrap = [...loopbackAddresses(stack.gateway.info), ...loopbackAddresses(stack.scheduler.info)]
    const intruder = (await stack.addWorker('intruder', { identity: intruderFiles, waitReady: false, bootstrap })) as NodeProcess
    // gateway and scheduler refuse it (logged with the reason) ...
    for (const node of ['gateway', 'scheduler']) {
      const refusal = await waitFor(
        async () => logs.find((l) => l.node === node && l.msg === 'peer refused' && l.fields.peerId === intruderId),
        30_000,
        `the ${node} to refuse the intruder`,
      )
      expect(refusal.fields.reason).toBe('untrusted')
    }
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => submit({ executor: 'echo', input: `secret ${i}` })))
    for (const id of ids) expect((await finished(id)).worker).not.toBe(intruderId)
    // ... the scheduler never counted it as a worker, and it never ran anything
    const { body: workers } = await http('/workers')
    expect((workers as Array<{ id: string }>).map((w) => w.id)).not.toContain(intruderId)
    expect(logs.some((l) => l.node === 'intruder' && l.msg === 'task assigned')).toBe(false)
    expect(intruder.running).toBe(true)
  }, 60_000)

  it('completes the task of a worker killed mid-task on the other worker', async () => {
    const id = await submit({ executor: 'sleep', input: '3000' })
    const running = await waitFor(async () => {
      const { body } = await http(`/tasks/${id}`)
      return body.state === 'running' ? (body as Task) : undefined
    }, 20_000, 'the task to run')
    const victim = stack.workers.find((w) => w.info.peerId === running.worker)
    if (victim === undefined) throw new Error(`task runs on an unknown worker ${running.worker}`)
    await stack.kill(victim.name)
    const done = await finished(id, 30_000)
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { slept: 3000 } })
    expect(done.worker).not.toBe(running.worker)
    expect(logs.some((l) => l.node === 'scheduler' && l.msg === 'task re-queued' && l.fields.task === id)).toBe(true)
  }, 60_000)

  it('resumes every task when the scheduler is SIGKILLed mid-run and restarted', async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => String(200 + 100 * (i % 8)))
    const ids = await Promise.all(inputs.map((input) => submit({ executor: 'sleep', input })))
    await waitFor(async () => {
      const { body } = await http('/tasks?state=running')
      return (body as Task[]).length > 0 ? true : undefined
    }, 20_000, 'some tasks to run')
    await stack.kill('scheduler')
    await stack.restart('scheduler')
    // every task id is still known at once ...
    for (const id of ids) expect((await http(`/tasks/${id}`)).status).toBe(200)
    // ... and every task ends succeeded with its own result
    for (const [i, id] of ids.entries()) {
      expect(await finished(id, 60_000)).toMatchObject({ state: 'succeeded', result: { slept: Number(inputs[i]) } })
    }
    expect(logs.some((l) => l.node === 'scheduler' && l.msg === 'task store open')).toBe(true)
  }, 120_000)

  it('runs the demo batch against the stack with every result verified', async () => {
    const lines: string[] = []
    const report = await runDemo({ scheduler: stack.scheduler.url, tasks: 9, sha256Bytes: 64 * 1024, write: (l) => lines.push(l) })
    expect(report).toMatchObject({ submitted: 9, succeeded: 9, verified: 9, failed: 0, mismatches: [] })
    expect(lines.at(-1)).toBeDefined()
    expect(lines.some((l) => l.includes('9/9 results verified'))).toBe(true)
  }, 90_000)
})
