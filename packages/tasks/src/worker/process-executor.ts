// Process executors: a configured command run once per attempt, Hypha's way of doing real work.
// The worker's operator declares each one (`[worker.executors.<name>]`); the scheduler only
// names it. Nothing from the network reaches the command line: the task's input is a file
// (and stdin), never an argument.
//
// Per attempt:
//   - a fresh directory under the work root, mode 0700 (one task cannot read another's), removed
//     afterwards; the process's cwd unless the executor sets one, and its HOME and TMPDIR
//   - the input written to $HYPHA_INPUT (and fed on stdin unless `stdin = false`)
//   - the job bridge on $HYPHA_JOB_SOCKET (job-bridge.ts): progress, input, result
//   - the environment: PATH, LANG, the executor's `env`, the worker variables named in
//     `passEnv`, and the HYPHA_* ones. Nothing else of the worker's (its secrets stay its own)
//   - the result: the file $HYPHA_RESULT if the job wrote it (directly or by PUT /v1/result),
//     else its stdout; at most maxOutputBytes (the job is killed past it). `result = "json"`
//     parses it as JSON (up to LIMITS.resultBytes, carried in the report); `result = "file"`
//     delivers the bytes as a file over bulk transfer (ResultFile), any size up to the limit
//   - the end: exit 0 succeeds; exit 75 (EX_TEMPFAIL) is a retryable failure; any other code
//     or signal fails with the tail of stderr. A timeout, a lost lease, a cancel or the worker
//     stopping sends SIGTERM to the job's process group, then SIGKILL after the grace period.
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { type JsonValue, LIMITS } from '../protocol/messages.js'
import { type Executor, type ExecutorContext, type ExecutorResult, ResultFile, RetryableTaskError } from './executors.js'
import { startJobBridge } from './job-bridge.js'

export interface ProcessExecutorSpec {
  /** The program and its fixed arguments. */
  command: readonly string[]
  /** Variables set for the job (on top of PATH and LANG). */
  env?: Readonly<Record<string, string>>
  /** Names of the worker's own environment variables the job gets; none by default. */
  passEnv?: readonly string[]
  /** The job's working directory. @default the attempt's directory */
  cwd?: string
  /** The job is stopped after this long (the task's own timeout applies too). */
  timeoutMs?: number
  /** Largest result (stdout or the result file). */
  maxOutputBytes: number
  /** Time between SIGTERM and SIGKILL. */
  graceMs: number
  /** 'json': the result is a JSON value; 'file': the result is bytes, delivered as a file. */
  result: 'json' | 'file'
  /** Feed the input on stdin too. */
  stdin: boolean
}

export interface ProcessExecutorOptions {
  /** Where attempts get their directories (created if missing). */
  workRoot: string
  /** Environment the passEnv names are taken from. @default process.env */
  environment?: NodeJS.ProcessEnv
}

/** Exit status that asks for another attempt (sysexits.h EX_TEMPFAIL). */
export const RETRY_EXIT_CODE = 75
const STDERR_TAIL_BYTES = 4096
/** Unix socket paths are limited to ~107 bytes. */
const MAX_SOCKET_PATH = 100

class OutputLimitError extends Error {}

export function createProcessExecutor(name: string, spec: ProcessExecutorSpec, options: ProcessExecutorOptions): Executor {
  if (spec.command.length === 0 || spec.command[0] === '') throw new Error(`executor ${name}: command must name a program`)
  const environment = options.environment ?? process.env
  return async (context) => runAttempt(name, spec, options.workRoot, environment, context)
}

async function runAttempt(
  name: string,
  spec: ProcessExecutorSpec,
  workRoot: string,
  environment: NodeJS.ProcessEnv,
  context: ExecutorContext,
): Promise<ExecutorResult> {
  await mkdir(workRoot, { recursive: true, mode: 0o700 })
  // short (a Unix socket lives in it) and not derived from the task id alone (attempts differ)
  const dir = await mkdtemp(join(workRoot, `${createHash('sha256').update(context.taskId).digest('hex').slice(0, 12)}-`))
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true })
  let keep = false
  try {
    const paths = { input: join(dir, 'input'), result: join(dir, 'result'), stdout: join(dir, 'stdout') }
    await pipeline(context.input.stream(), createWriteStream(paths.input, { mode: 0o600 }))
    // the socket lives in the attempt's directory, or (a path too long for a Unix socket) in a
    // short private directory of its own, removed with the attempt
    const socketDir = join(dir, 'job.sock').length <= MAX_SOCKET_PATH ? undefined : await mkdtemp(join(tmpdir(), 'hypha-job-'))
    const socketPath = join(socketDir ?? dir, 'job.sock')
    const bridge = await startJobBridge({
      socketPath,
      task: { id: context.taskId, executor: name, inputSize: context.input.size, inputKind: context.input.kind },
      inputPath: paths.input,
      resultPath: paths.result,
      maxResultBytes: spec.maxOutputBytes,
      progress: context.progress,
    })
    try {
      const env: NodeJS.ProcessEnv = {
        PATH: environment.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        LANG: environment.LANG ?? 'C.UTF-8',
        HOME: dir,
        TMPDIR: dir,
        ...Object.fromEntries((spec.passEnv ?? []).filter((key) => environment[key] !== undefined).map((key) => [key, environment[key]])),
        ...spec.env,
        HYPHA_TASK_ID: context.taskId,
        HYPHA_EXECUTOR: name,
        HYPHA_WORK_DIR: dir,
        HYPHA_INPUT: paths.input,
        HYPHA_RESULT: paths.result,
        HYPHA_JOB_SOCKET: bridge.socketPath,
      }
      const exit = await runProcess(spec, env, spec.cwd ?? dir, paths, context.signal)
      if (exit.outputExceeded) throw new Error(`${name} wrote more than max_output (${spec.maxOutputBytes} bytes) and was killed`)
      if (exit.code !== 0) {
        const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
        const message = `${name} ${how}${exit.stderrTail !== '' ? `: ${exit.stderrTail}` : ''}`
        if (exit.code === RETRY_EXIT_CODE) throw new RetryableTaskError(message)
        throw new Error(message)
      }
      const resultPath = (await exists(paths.result)) ? paths.result : paths.stdout
      const size = (await stat(resultPath)).size
      if (size > spec.maxOutputBytes) throw new Error(`${name}'s result of ${size} bytes is more than max_output (${spec.maxOutputBytes} bytes)`)
      if (spec.result === 'json') return await readJsonResult(name, resultPath, size)
      keep = true
      return new ResultFile(resultPath, { release: cleanup })
    } finally {
      await bridge.close()
      if (socketDir !== undefined) await rm(socketDir, { recursive: true, force: true })
    }
  } finally {
    if (!keep) await cleanup()
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

async function readJsonResult(name: string, path: string, size: number): Promise<JsonValue> {
  if (size > LIMITS.resultBytes) throw new Error(`${name}'s JSON result of ${size} bytes is more than ${LIMITS.resultBytes} bytes (use result = "file" for large results)`)
  const text = (await readFile(path, 'utf8')).trim()
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    throw new Error(`${name}'s result is not JSON: ${JSON.stringify(text.slice(0, 200))}`)
  }
}

interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
  stderrTail: string
  outputExceeded: boolean
}

/** Runs the job to its end; on abort (or its own timeout) SIGTERM, then SIGKILL after the grace period. */
async function runProcess(
  spec: ProcessExecutorSpec,
  env: NodeJS.ProcessEnv,
  cwd: string,
  paths: { input: string; stdout: string },
  signal: AbortSignal,
): Promise<ProcessExit> {
  signal.throwIfAborted()
  const [program, ...args] = spec.command as [string, ...string[]]
  // its own process group, so a stop reaches whatever the job started too
  const child = spawn(program, args, { cwd, env, stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true })
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }))
  })
  await spawned

  let stderr = Buffer.alloc(0)
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = Buffer.concat([stderr, chunk])
    if (stderr.byteLength > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.byteLength - STDERR_TAIL_BYTES)
  })
  let outputExceeded = false
  const stdout = captureStdout(child, paths.stdout, spec.maxOutputBytes, () => {
    outputExceeded = true
    stop('SIGKILL')
  })
  if (child.stdin !== null) {
    // a job that does not read its stdin closes it: that is no error
    child.stdin.on('error', () => undefined)
    createReadStream(paths.input).on('error', () => child.stdin?.destroy()).pipe(child.stdin)
  }

  let killTimer: ReturnType<typeof setTimeout> | undefined
  let timedOut = false
  function stop(how: NodeJS.Signals): void {
    if (child.pid === undefined) return
    try {
      process.kill(-child.pid, how)
    } catch {
      // the group is gone already
    }
  }
  const stopGracefully = (): void => {
    stop('SIGTERM')
    killTimer ??= setTimeout(() => stop('SIGKILL'), spec.graceMs)
  }
  const timeout = spec.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true
    stopGracefully()
  }, spec.timeoutMs)
  signal.addEventListener('abort', stopGracefully, { once: true })
  try {
    const exit = await exited
    await stdout.catch(() => undefined)
    // the task's own signal decides how the worker reports it (timeout, lease lost, hand-back)
    if (signal.aborted) throw signal.reason
    if (timedOut) throw new Error(`timed out after ${spec.timeoutMs} ms (stopped with SIGTERM${exit.signal === 'SIGKILL' ? ', then SIGKILL' : ''})`)
    return { ...exit, stderrTail: stderr.toString('utf8').trim(), outputExceeded }
  } finally {
    clearTimeout(timeout)
    clearTimeout(killTimer)
    signal.removeEventListener('abort', stopGracefully)
    // nothing the job started outlives the attempt (its group, even once the job itself has exited)
    stop('SIGKILL')
  }
}

/** Streams the job's stdout to a file, calling `exceeded` once more than `limit` bytes came. */
function captureStdout(child: ChildProcess, path: string, limit: number, exceeded: () => void): Promise<void> {
  const out = createWriteStream(path, { mode: 0o600 })
  let size = 0
  let over = false
  child.stdout?.on('data', (chunk: Buffer) => {
    if (over) return
    size += chunk.byteLength
    if (size > limit) {
      over = true
      exceeded()
      return
    }
    if (!out.write(chunk)) {
      child.stdout?.pause()
      out.once('drain', () => child.stdout?.resume())
    }
  })
  return new Promise((resolve, reject) => {
    child.stdout?.once('close', () => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
    out.once('error', reject)
  })
}
