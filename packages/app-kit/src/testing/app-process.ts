// Test support (exported as @hypha/app-kit/testing): spawning a node app binary, output capture,
// polling without fixed sleeps.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface Proc {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function start(bin: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Proc {
  return startCommand(process.execPath, [bin, ...args], options)
}

/** Spawns any executable (a shell shim of node_modules/.bin, say) with the output captured. */
export function startCommand(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Proc {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Runs a command to completion. */
export async function runToEnd(bin: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }) {
  const proc = start(bin, args, options)
  const result = await withTimeout(proc.exited, options.timeoutMs ?? 30_000, `${args.join(' ')} did not finish`)
  return { ...result, stdout: proc.stdout(), stderr: proc.stderr() }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export interface ReadyLine {
  http: string
  peerId: string
  addresses: string[]
}

/** The app's `<name> ready` JSON log line, once it appears on stdout. */
export function readyLine(proc: Proc): ReadyLine | undefined {
  for (const line of proc.stdout().split('\n')) {
    if (!line.includes('ready"')) continue
    try {
      const parsed = JSON.parse(line) as Partial<ReadyLine> & { msg?: string }
      if (parsed.msg?.endsWith(' ready') === true && parsed.http !== undefined) return parsed as ReadyLine
    } catch {
      // a partial line: try again on the next poll
    }
  }
  if (proc.child.exitCode !== null) throw new Error(`the app exited (${proc.child.exitCode}) before it was ready: ${proc.stderr()}`)
  return undefined
}

/** The PIDs of a process's children (Linux /proc). */
export function childPidsOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
