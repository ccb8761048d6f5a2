// The smoke test every app's committed bin gets (jest globals): --help, init (writes a file, and
// prints one holding the role's own checks), run -> /health/ready 200 with the right role ->
// SIGTERM -> exit 0. Each app calls it once with its own bin and environment.
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeDevPki } from '@hypha/mtls'
import type { NodeRole } from '@hypha/network-core'
import { NODE_RUNTIME_FLAGS } from '../runtime/node-flags.js'
import { childPidsOf, isRunning, type Proc, readyLine, runToEnd, start, startCommand, waitFor } from './app-process.js'

export interface BinSmokeOptions {
  /** Absolute path of the committed bin file. */
  bin: string
  name: string
  role: NodeRole
  /** Extra environment for `run` (config overrides). */
  env?: NodeJS.ProcessEnv
  /** A pattern the printed example config must match (the role's own section). */
  initPrints?: RegExp
  /** The pnpm shim of the bin (node_modules/.bin/<name>): what `pnpm exec` and supervisors start. */
  shim?: string
}

export function binSmokeTest(options: BinSmokeOptions): void {
  let dir: string
  const running: Proc[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `${options.name}-bin-`))
    await writeDevPki({ dir: join(dir, 'certs'), organisation: 'acme', nodes: [options.role] })
  })
  afterEach(() => {
    for (const proc of running.splice(0)) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL')
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('prints help and writes a config', async () => {
    const help = await runToEnd(options.bin, ['--help'], { cwd: dir })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain(`usage: ${options.name}`)
    expect((await runToEnd(options.bin, ['init', '-o', 'node.toml', '-n', options.role], { cwd: dir })).code).toBe(0)
    const printed = await runToEnd(options.bin, ['init', '-n', options.role], { cwd: dir })
    expect(printed.code).toBe(0)
    if (options.initPrints !== undefined) expect(printed.stdout).toMatch(options.initPrints)
  })

  it(`runs as a ${options.role}, is ready, and stops on SIGTERM with exit 0`, async () => {
    const proc = start(options.bin, ['run', '-c', 'node.toml'], {
      cwd: dir,
      env: { HYPHA_HTTP__LISTEN: '127.0.0.1:0', HYPHA_NETWORK__LISTEN_ADDRESSES: '/ip4/127.0.0.1/tcp/0', ...options.env },
    })
    running.push(proc)
    const ready = await waitFor(() => readyLine(proc), 30_000, `${options.name} ready`)
    const response = await fetch(`http://${ready.http}/health/ready`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ info: { role: { role: options.role, status: 'up' } } })
    proc.child.kill('SIGTERM')
    expect((await proc.exited).code).toBe(0)
  })

  const { shim } = options
  if (shim !== undefined) {
    it('stops gracefully when SIGTERM reaches the pnpm shim a supervisor started, leaving no orphan', async () => {
      const proc = startCommand(shim, ['run', '-c', 'node.toml'], {
        cwd: dir,
        env: { HYPHA_HTTP__LISTEN: '127.0.0.1:0', HYPHA_NETWORK__LISTEN_ADDRESSES: '/ip4/127.0.0.1/tcp/0', ...options.env },
      })
      running.push(proc)
      await waitFor(() => readyLine(proc), 30_000, `${options.name} ready`)
      // the started PID is pnpm's node shim (a shell); node is its child
      const [nodePid] = childPidsOf(proc.child.pid as number)
      expect(nodePid).toBeDefined()
      try {
        // the shebang's V8 flags reach the real node through both shims
        const argv = readFileSync(`/proc/${nodePid}/cmdline`, 'utf8').split('\0')
        expect(argv).toEqual(expect.arrayContaining([...NODE_RUNTIME_FLAGS]))
        proc.child.kill('SIGTERM')
        await proc.exited
        await waitFor(() => (isRunning(nodePid as number) ? undefined : true), 15_000, 'the node under the shim to exit')
        expect(proc.stdout()).toContain('shutting down')
        expect(proc.stdout()).toContain('stopping the libp2p node')
      } finally {
        if (isRunning(nodePid as number)) process.kill(nodePid as number, 'SIGKILL')
      }
    })
  }
}
