// Configured process executors end to end on real mTLS nodes over loopback: a scheduler and a
// worker, both with bulk transfer. A Python job reads its input, reports progress twice over the
// job bridge and writes a 50 MiB result, which reaches the scheduler as a file with its sha256
// checked; a job past its timeout fails with the reason; only the lease holder may push a result
// file; a report naming a file that never arrived is a retryable failure; an input too large to
// be inline is pulled over bulk transfer by the lease holder only, and a worker serves no payloads.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BulkTransfer, HyphaNode, TransferCompleteDetail } from '@hypha/network-core'
import { addressOf, type TestNetwork as TestNetworkType, TestNetwork, waitFor } from '@hypha/network-core/testing'
import {
  builtinExecutors,
  createProcessExecutor,
  inputPayloadName,
  relayTaskTopics,
  resultPayloadName,
  Scheduler,
  TASK_PROTOCOL_VERSION,
  TASK_TOPICS,
  type TaskView,
  Worker,
} from '../src/index.js'
import { finishedTask, weightsSha256 } from './fixtures/tasks.js'

const nodeOptions = { transports: 'tcp' as const, pubsubTopics: TASK_TOPICS, toml: { 'network.nat': { reachability: 'public' } } }

// the Python example job of docs/services.md (input {seed, mib}; progress twice; a result file)
const PYTHON_JOB = fileURLToPath(new URL('../../../../docs/examples/jobs/weights.py', import.meta.url))

let net: TestNetworkType
let work: string
let schedulerNode: HyphaNode
let workerNode: HyphaNode
let scheduler: Scheduler
let worker: Worker
let workRoot: string

function finished(id: string, timeoutMs = 20_000): Promise<TaskView> {
  return finishedTask(scheduler, id, timeoutMs)
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hypha-jobs-'))
  net = await TestNetwork.create(4)
  const gateway = await net.start({ ...nodeOptions, role: 'gateway' })
  relayTaskTopics(gateway)
  const bootstrap = [addressOf(gateway, 'tcp')]
  schedulerNode = await net.start({ ...nodeOptions, role: 'scheduler', bootstrap, bulk: true })
  scheduler = new Scheduler(schedulerNode, { leaseMs: 1_500, announceIntervalMs: 250, maxResultBytes: 64 * 1024 * 1024 })
  await scheduler.start()
  workerNode = await net.start({ ...nodeOptions, role: 'worker', bootstrap, bulk: true })
  workRoot = join(work, 'attempts')
  const base = { maxOutputBytes: 128 * 1024 * 1024, graceMs: 500, stdin: false }
  worker = new Worker(workerNode, {
    capacity: 2,
    statusIntervalMs: 500,
    executors: {
      ...builtinExecutors(),
      'make-weights': createProcessExecutor('make-weights', { ...base, command: ['python3', PYTHON_JOB], result: 'file' }, { workRoot }),
      'slow-job': createProcessExecutor('slow-job', { ...base, command: ['sleep', '30'], result: 'json', timeoutMs: 300 }, { workRoot }),
      // records its pid where the test finds it, then runs until stopped
      'long-job': createProcessExecutor('long-job', { ...base, command: ['sh', '-c', 'echo $$ > "$HYPHA_WORK_DIR/../long-job.pid"; exec sleep 60'], result: 'json' }, { workRoot }),
    },
  })
  await worker.start()
  await waitFor(() => scheduler.workers().length === 1, 'the scheduler has heard from the worker')
})

afterAll(async () => {
  await scheduler?.stop()
  await worker?.stop()
  await net?.cleanup()
  await rm(work, { recursive: true, force: true })
})

it('runs a configured Python job whose 50 MiB result file reaches the scheduler with its sha256 verified', async () => {
  const progress: Array<string | undefined> = []
  scheduler.addEventListener('task:progress', (event) => progress.push(event.detail.progress?.message))
  const { id } = await scheduler.submit({ executor: 'make-weights', input: JSON.stringify({ seed: 'seed-7', mib: 50 }) })
  const view = await finished(id, 60_000)
  const sha256 = weightsSha256('seed-7', 50)

  expect(view).toMatchObject({ state: 'succeeded', result: null, resultPayload: { size: 50 * 1024 * 1024, sha256 } })
  const file = await scheduler.resultFile(id)
  expect(file).toMatchObject({ size: 50 * 1024 * 1024, sha256 })
  expect(await sha256OfFile(file?.path as string)).toBe(sha256)
  expect(progress).toEqual(expect.arrayContaining(['read the input', 'weights written']))
})

it('fails a job past its timeout with the reason', async () => {
  const { id } = await scheduler.submit({ executor: 'slow-job', input: '', maxAttempts: 1 })
  const view = await finished(id)
  expect(view.state).toBe('failed')
  expect(view.error).toContain('timed out after 300 ms')
})

it('takes a result file only from the holder of its lease', async () => {
  const source = join(work, 'forged.bin')
  await writeFile(source, 'not your result')
  const bulk = workerNode.bulk
  if (bulk === undefined) throw new Error('the worker has no bulk service')
  await expect(bulk.push(schedulerNode.peerId, resultPayloadName('00000000-0000-4000-8000-000000000000'), source)).rejects.toMatchObject({ code: 'forbidden' })
  await expect(bulk.push(schedulerNode.peerId, 'anything.bin', source)).rejects.toMatchObject({ code: 'forbidden' })
  await expect(bulk.pull(schedulerNode.peerId, 'anything.bin', join(work, 'pulled'))).rejects.toMatchObject({ code: 'forbidden' })
})

it('pulls an input too large to be inline over bulk transfer, sha256-checked, and deletes both copies after the attempt', async () => {
  const big = randomBytes(3 * 1024 * 1024 + 17)
  const served: TransferCompleteDetail[] = []
  const onServed = (event: CustomEvent<TransferCompleteDetail>): void => { served.push(event.detail) }
  const schedulerBulk = schedulerNode.bulk as BulkTransfer
  const workerBulk = workerNode.bulk as BulkTransfer
  schedulerBulk.addEventListener('transfer:complete', onServed)
  try {
    const { id } = await scheduler.submit({ executor: 'sha256', input: { base64: big.toString('base64') } })
    expect(await finished(id)).toMatchObject({ state: 'succeeded', result: { sha256: createHash('sha256').update(big).digest('hex') } })
    expect(served).toContainEqual(expect.objectContaining({ direction: 'pull', side: 'server', outcome: 'ok', bytes: big.byteLength, name: expect.stringMatching(/^input\./) }))
    const inputFiles = async (bulk: BulkTransfer): Promise<string[]> => (await readdir(bulk.store.directory)).filter((name) => name.startsWith('input.'))
    await waitFor(async () => (await inputFiles(schedulerBulk)).length === 0 && (await inputFiles(workerBulk)).length === 0, 'the input files are deleted')
  } finally {
    schedulerBulk.removeEventListener('transfer:complete', onServed)
  }
})

it('serves an input payload only to the holder of its lease, and a worker takes no payloads at all', async () => {
  const { id } = await scheduler.submit({ executor: 'sleep', input: '1500' })
  await waitFor(async () => (await scheduler.getTask(id))?.state === 'running', 'the task runs')
  const workerBulk = workerNode.bulk as BulkTransfer
  // the worker holds a lease, but not this one
  await expect(workerBulk.pull(schedulerNode.peerId, inputPayloadName('00000000-0000-4000-8000-000000000000'), join(work, 'stolen'))).rejects.toMatchObject({ code: 'forbidden' })
  const source = join(work, 'unasked.bin')
  await writeFile(source, 'a payload nobody asked for')
  const schedulerBulk = schedulerNode.bulk as BulkTransfer
  await expect(schedulerBulk.push(workerNode.peerId, 'unasked.bin', source)).rejects.toMatchObject({ code: 'forbidden' })
  await expect(schedulerBulk.pull(workerNode.peerId, 'unasked.bin', join(work, 'taken'))).rejects.toMatchObject({ code: 'forbidden' })
  await finished(id)
})

it('treats a success that names a result file the scheduler never received as a retryable failure', async () => {
  const { id } = await scheduler.submit({ executor: 'sleep', input: '60000', maxAttempts: 2 })
  let leaseId: string | undefined
  await waitFor(async () => {
    const record = await scheduler.store.get(id)
    leaseId = record?.state === 'running' ? record.lease?.id : undefined
    return leaseId !== undefined
  }, 'the task runs')
  const answer = await scheduler.handleReport(workerNode.peerId.toString(), {
    v: TASK_PROTOCOL_VERSION,
    taskId: id,
    leaseId: leaseId as string,
    outcome: 'succeeded',
    result: null,
    payload: { size: 10, sha256: 'a'.repeat(64) },
  })
  expect(answer.status).toBe('accepted')
  const record = await scheduler.store.get(id)
  // back in the queue for its second attempt, not succeeded
  expect(record?.state === 'pending' || record?.state === 'assigned' || record?.state === 'running').toBe(true)
  expect(record?.resultPayload).toBeUndefined()
})

it('stops the process of a cancelled task: the worker learns at its next renewal and ends the job', async () => {
  const { id } = await scheduler.submit({ executor: 'long-job', input: '' })
  const pidFile = join(workRoot, 'long-job.pid')
  await waitFor(async () => (await scheduler.getTask(id))?.state === 'running' && existsSync(pidFile), 'the long job runs')
  const pid = Number(readFileSync(pidFile, 'utf8'))
  const alive = (): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  expect(alive()).toBe(true)
  const view = await scheduler.cancel(id, 'no longer needed')
  expect(view).toMatchObject({ state: 'failed', error: 'cancelled: no longer needed' })
  // renewals every lease/3 (500 ms here), then SIGTERM (sleep obeys it)
  await waitFor(() => !alive(), 'the cancelled job has stopped', 5_000)
  await expect(scheduler.cancel(id)).rejects.toMatchObject({ name: 'TaskFinishedError' })
  expect(await scheduler.cancel('no-such-task')).toBeUndefined()
})
