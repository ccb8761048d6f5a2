// The committed bin, as installed: --help, init (with the [worker] section), and run (task
// engine started) -> /health/ready 200 -> SIGTERM (tasks handed back) exit 0.
// (The CLI's full behaviour is tested in packages/app-kit/test against the same runNodeApp.)
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeDevPki } from '@hypha/mtls'

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'hypha-worker.js')
let dir: string
const children: ChildProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'worker-bin-'))
  await writeDevPki({ dir: join(dir, 'certs'), organisation: 'acme', nodes: ['worker'] })
})
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function launch(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const out = { stdout: '', stderr: '' }
  child.stdout?.on('data', (d: Buffer) => {
    out.stdout += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out.stderr += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, out, exited }
}

async function until<T>(fn: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

it('prints help and writes a config', async () => {
  const help = launch(['--help'])
  expect(await help.exited).toBe(0)
  expect(help.out.stdout).toContain('usage: hypha-worker')
  const init = launch(['init', '-o', 'worker.toml', '-n', 'worker'])
  expect(await init.exited).toBe(0)
  const printed = launch(['init', '-n', 'worker'])
  expect(await printed.exited).toBe(0)
  expect(printed.out.stdout).toMatch(/\[worker\][\s\S]*capacity = 1/)
})

it('runs as a worker, is ready, and stops on SIGTERM with exit 0', async () => {
  const run = launch(['run', '-c', 'worker.toml'], {
    HYPHA_HTTP__LISTEN: '127.0.0.1:0',
    HYPHA_NETWORK__LISTEN_ADDRESSES: '/ip4/127.0.0.1/tcp/0',
    // alone on loopback: no relay to reserve on, so readiness must not wait for one
    HYPHA_NETWORK__NAT__REACHABILITY: 'public',
    HYPHA_WORKER__CAPACITY: '2',
  })
  const http = await until(() => {
    if (run.child.exitCode !== null) throw new Error(run.out.stderr)
    return /"http":"([^"]+)"/.exec(run.out.stdout)?.[1]
  }, 30_000)
  const ready = await fetch(`http://${http}/health/ready`)
  expect(ready.status).toBe(200)
  expect(await ready.json()).toMatchObject({ info: { role: { role: 'worker', status: 'up' } } })
  run.child.kill('SIGTERM')
  expect(await run.exited).toBe(0)
})
