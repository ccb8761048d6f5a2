// Process executors with real processes (sh and python3): input, the job bridge, results as JSON
// and as files, the environment a job gets, timeouts, cancellation with SIGTERM then SIGKILL,
// exit codes, output limits, and the attempt directory's clean-up.
import { createHash } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ExecutorContext, ResultFile, RetryableTaskError, type TaskInput } from './executors.js'
import { weightsSha256 } from '../../test/fixtures/tasks.js'
import { createProcessExecutor, type ProcessExecutorSpec } from './process-executor.js'

let root: string
let workRoot: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hypha-proc-'))
  workRoot = join(root, 'work')
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

function inputOf(text: string): TaskInput {
  const bytes = new TextEncoder().encode(text)
  return {
    kind: 'text',
    size: bytes.byteLength,
    async *stream() {
      yield bytes
    },
    bytes: async () => bytes,
    text: async () => text,
  }
}

function context(input: string, overrides: Partial<ExecutorContext> = {}): ExecutorContext & { reported: Array<[number | undefined, string | undefined]> } {
  const reported: Array<[number | undefined, string | undefined]> = []
  return {
    taskId: 'task:1',
    input: inputOf(input),
    signal: new AbortController().signal,
    progress: (fraction, message) => reported.push([fraction, message]),
    reported,
    ...overrides,
  }
}

function spec(command: string[], overrides: Partial<ProcessExecutorSpec> = {}): ProcessExecutorSpec {
  return { command, maxOutputBytes: 64 * 1024 * 1024, graceMs: 500, result: 'json', stdin: true, ...overrides }
}

const sh = (script: string): string[] => ['sh', '-c', script]

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// The Python example job of docs/services.md: input from $HYPHA_INPUT, progress twice over the
// job bridge, a result file of `mib` MiB written to $HYPHA_RESULT.
const PYTHON_JOB = fileURLToPath(new URL('../../../../../docs/examples/jobs/weights.py', import.meta.url))

describe('process executor', () => {
  it('runs a Python job that reads its input, reports progress twice and writes a 50 MiB result file', async () => {
    const run = createProcessExecutor('py', spec(['python3', PYTHON_JOB], { result: 'file' }), { workRoot })
    const ctx = context(JSON.stringify({ seed: 'seed-42', mib: 50 }))
    const result = await run(ctx)
    expect(result).toBeInstanceOf(ResultFile)
    const file = result as ResultFile
    expect((await stat(file.path)).size).toBe(50 * 1024 * 1024)
    expect(createHash('sha256').update(await readFile(file.path)).digest('hex')).toBe(weightsSha256('seed-42', 50))
    expect(ctx.reported).toEqual([[0.1, 'read the input'], [1, 'weights written']])
    // the attempt directory stays until the worker has delivered the file, then goes
    await file.release()
    expect(await readdir(workRoot)).toEqual([])
  })

  it('takes a JSON result from stdout, with the input on stdin', async () => {
    const run = createProcessExecutor('upper', spec(sh('tr a-z A-Z | { read line; printf \'{"upper":"%s"}\' "$line"; }')), { workRoot })
    expect(await run(context('hello hypha'))).toEqual({ upper: 'HELLO HYPHA' })
    expect(await readdir(workRoot)).toEqual([])
  })

  it('takes the result sent over the bridge (PUT /v1/result) before stdout', async () => {
    const script = 'printf ignored; curl -s --fail --unix-socket "$HYPHA_JOB_SOCKET" -X PUT --data-binary @"$HYPHA_INPUT" http://job/v1/result'
    const run = createProcessExecutor('bridge', spec(sh(script)), { workRoot })
    expect(await run(context('{"from":"bridge"}'))).toEqual({ from: 'bridge' })
  })

  it('gives the job PATH, LANG, its own variables and the ones it lists, never the rest of the worker environment', async () => {
    const environment = { PATH: process.env.PATH, SECRET_TOKEN: 'hunter2', ALLOWED: 'yes' }
    // env(1) itself, no shell or interpreter shim that would add variables of its own
    const run = createProcessExecutor('env', spec(['env'], { env: { MODE: 'fast' }, passEnv: ['ALLOWED', 'NOT_SET'], result: 'file' }), { workRoot, environment })
    const file = (await run(context(''))) as ResultFile
    const lines = (await readFile(file.path, 'utf8')).trim().split('\n')
    await file.release()
    const env = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
    expect(env.SECRET_TOKEN).toBeUndefined()
    expect(env).toMatchObject({ ALLOWED: 'yes', MODE: 'fast', HYPHA_TASK_ID: 'task:1', HYPHA_EXECUTOR: 'env' })
    expect(Object.keys(env).filter((k) => !k.startsWith('HYPHA_')).sort()).toEqual(['ALLOWED', 'HOME', 'LANG', 'MODE', 'PATH', 'TMPDIR'])
    // one directory per attempt, readable by the worker's user only
    expect(env.HOME).toBe(env.HYPHA_WORK_DIR)
    expect(env.HYPHA_INPUT).toBe(join(env.HYPHA_WORK_DIR as string, 'input'))
  })

  it('puts the job bridge somewhere short when the attempt directory is too deep for a Unix socket path', async () => {
    const deep = join(workRoot, 'a'.repeat(60), 'b'.repeat(60))
    const fallbacks = async (): Promise<string[]> => (await readdir(tmpdir())).filter((name) => name.startsWith('hypha-job-'))
    const before = await fallbacks()
    const run = createProcessExecutor('deep', spec(sh('curl -sf --unix-socket "$HYPHA_JOB_SOCKET" http://job/v1/task')), { workRoot: deep })
    expect(await run(context('x'))).toEqual({ id: 'task:1', executor: 'deep', inputSize: 1, inputKind: 'text' })
    // the short directory went with the attempt
    expect(await fallbacks()).toEqual(before)
  })

  it('gives each attempt its own directory, mode 0700', async () => {
    const run = createProcessExecutor('dir', spec(sh('stat -c \'"%a"\' "$HYPHA_WORK_DIR"')), { workRoot })
    expect(await run(context(''))).toBe('700')
  })

  it('stops a job past its timeout and fails with the reason', async () => {
    const run = createProcessExecutor('slow', spec(sh('echo $$ > "$HYPHA_WORK_DIR/../pid"; sleep 30'), { timeoutMs: 200 }), { workRoot })
    await expect(run(context(''))).rejects.toThrow('timed out after 200 ms')
    const pid = Number(await readFile(join(workRoot, 'pid'), 'utf8'))
    expect(alive(pid)).toBe(false)
  })

  it('on cancel sends SIGTERM, and SIGKILL after the grace period to a job that ignores it', async () => {
    const controller = new AbortController()
    const script = 'trap "" TERM; echo $$ > "$HYPHA_WORK_DIR/../pid"; while true; do sleep 0.05; done'
    const run = createProcessExecutor('stubborn', spec(sh(script), { graceMs: 300 }), { workRoot })
    const outcome = run(context('', { signal: controller.signal })).then(() => 'succeeded', (err: unknown) => err)
    const pidFile = join(workRoot, 'pid')
    await waitUntil(() => existsSync(pidFile) && statSync(pidFile).size > 0, 'the job has started')
    const pid = Number(await readFile(pidFile, 'utf8'))
    const cancelledAt = Date.now()
    controller.abort(new Error('cancelled by the user'))
    expect(await outcome).toMatchObject({ message: 'cancelled by the user' })
    // SIGTERM was ignored: only SIGKILL, after the grace period, ended it
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(300)
    expect(alive(pid)).toBe(false)
  })

  it('maps exit 75 to a retryable failure and other codes to a failure with the tail of stderr', async () => {
    const retry = createProcessExecutor('busy', spec(sh('echo "try later" >&2; exit 75')), { workRoot })
    const failed = createProcessExecutor('broken', spec(sh('echo "no such model" >&2; exit 3')), { workRoot })
    const retryError = await retry(context('')).catch((err: unknown) => err)
    expect(retryError).toBeInstanceOf(RetryableTaskError)
    expect((retryError as Error).message).toBe('busy exited with code 75: try later')
    await expect(failed(context(''))).rejects.toThrow('broken exited with code 3: no such model')
    expect(await readdir(workRoot)).toEqual([])
  })

  it('kills a job whose output passes max_output', async () => {
    const run = createProcessExecutor('flood', spec(sh('yes hypha'), { maxOutputBytes: 64 * 1024, result: 'file' }), { workRoot })
    await expect(run(context(''))).rejects.toThrow('flood wrote more than max_output (65536 bytes) and was killed')
  })

  it('refuses a JSON result that is not JSON, naming what came', async () => {
    const run = createProcessExecutor('text', spec(sh('echo not json')), { workRoot })
    await expect(run(context(''))).rejects.toThrow(`text's result is not JSON: "not json"`)
  })
})
