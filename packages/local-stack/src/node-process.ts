// One Hypha service binary as a child process: its JSON log lines go to a file (a long-running
// stack must not hold them in memory), the `<name> ready` line gives its HTTP address and peer id,
// and warnings are passed on to whoever watches the stack.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { NODE_RUNTIME_FLAGS } from '@hypha/app-kit/node-flags'

export interface ReadyInfo {
  http: string
  peerId: string
  addresses: string[]
}

export interface LogLine {
  node: string
  level: number
  msg: string
  fields: Record<string, unknown>
}

export interface NodeProcessOptions {
  /** Name in the stack ("worker-1"); also the log file's name. */
  name: string
  bin: string
  args: readonly string[]
  cwd: string
  logFile: string
  env?: NodeJS.ProcessEnv
  /** Every parsed JSON log line (pino levels: 30 info, 40 warn, 50 error). */
  onLog?: (line: LogLine) => void
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null }

export class NodeProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  readonly ready: Promise<ReadyInfo>
  readonly #log: WriteStream
  #stderrTail = ''

  private constructor(options: NodeProcessOptions) {
    this.name = options.name
    this.#log = createWriteStream(options.logFile, { flags: 'a' })
    this.child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, options.bin, ...options.args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group: a Ctrl-C in the terminal reaches only the stack, which then stops
      // the nodes in order (workers first); otherwise every node would get SIGINT at once and the
      // stack's SIGTERM would count as a second, forcing signal
      detached: true,
    })
    // ... and a stack that exits (even on an error) takes its nodes with it
    const reap = (): void => {
      if (this.running) this.child.kill('SIGKILL')
    }
    process.once('exit', reap)
    this.child.once('exit', () => process.removeListener('exit', reap))
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }))
    })
    let markReady: (info: ReadyInfo) => void = () => undefined
    let failReady: (err: Error) => void = () => undefined
    this.ready = new Promise<ReadyInfo>((resolve, reject) => {
      markReady = resolve
      failReady = reject
    })
    // the stack reports a failed start through `ready`; this keeps an unobserved one quiet
    this.ready.catch(() => undefined)
    void this.exited.then((exit) => {
      failReady(new Error(`${this.name} exited (${exit.signal ?? exit.code}) before it was ready${this.#stderrTail ? `: ${this.#stderrTail.trim()}` : ''}`))
      this.#log.end()
    })

    const stdout = this.child.stdout
    const stderr = this.child.stderr
    if (stdout === null || stderr === null) throw new Error('spawned without pipes')
    createInterface({ input: stdout }).on('line', (text) => {
      this.#log.write(`${text}\n`)
      const line = parseLogLine(this.name, text)
      if (line === undefined) return
      if (line.msg.endsWith(' ready') && typeof line.fields.http === 'string') {
        markReady({
          http: line.fields.http,
          peerId: String(line.fields.peerId),
          addresses: Array.isArray(line.fields.addresses) ? line.fields.addresses.map(String) : [],
        })
      }
      options.onLog?.(line)
    })
    createInterface({ input: stderr }).on('line', (text) => {
      this.#log.write(`${text}\n`)
      // CLI failures are one line on stderr; keep the last few for the error message
      this.#stderrTail = `${this.#stderrTail}\n${text}`.slice(-2_000)
    })
  }

  static spawn(options: NodeProcessOptions): NodeProcess {
    return new NodeProcess(options)
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** SIGTERM (graceful: tasks handed back), then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 20_000): Promise<Exit> {
    if (!this.running) return this.exited
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** Ends the process at once (a crash, for fault tests). */
  async kill(): Promise<Exit> {
    if (this.running) this.child.kill('SIGKILL')
    return this.exited
  }
}

function parseLogLine(node: string, text: string): LogLine | undefined {
  if (!text.startsWith('{')) return undefined
  try {
    const fields = JSON.parse(text) as Record<string, unknown>
    return { node, level: typeof fields.level === 'number' ? fields.level : 30, msg: String(fields.msg ?? ''), fields }
  } catch {
    return undefined
  }
}
