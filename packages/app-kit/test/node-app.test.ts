// The CLI of a node app as operators use it: real processes (the gateway's main), a dev PKI,
// HTTP probes, the libp2p probe, configuration errors and SIGTERM.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeDevPki } from '@hypha/mtls'
import { type Proc, readyLine, runToEnd, start, waitFor, withTimeout } from '../src/testing/app-process.js'

const BIN = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'gateway-app.js')
const LOOPBACK_ENV = {
  HYPHA_HTTP__LISTEN: '127.0.0.1:0',
  HYPHA_NETWORK__LISTEN_ADDRESSES: '/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1',
}

let dir: string
const spawned: Proc[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'app-kit-cli-'))
  await writeDevPki({ dir: join(dir, 'certs'), organisation: 'acme', nodes: ['gateway', 'prober'] })
  const init = await runToEnd(BIN, ['init', '-o', 'gateway.toml', '-n', 'gateway'], { cwd: dir })
  expect(init.code).toBe(0)
})

afterEach(async () => {
  for (const proc of spawned.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL')
      await proc.exited
    }
  }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function runGateway(env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; http: string; tcpAddr: string }> {
  const proc = start(BIN, ['run', '--config', 'gateway.toml'], { cwd: dir, env: { ...LOOPBACK_ENV, ...env } })
  spawned.push(proc)
  const ready = await waitFor(() => readyLine(proc), 30_000, 'the ready log line')
  const tcpAddr = ready.addresses.find((a) => a.includes('/tcp/'))
  if (tcpAddr === undefined) throw new Error(`no TCP address in ${ready.addresses.join(', ')}`)
  return { proc, http: `http://${ready.http}`, tcpAddr }
}

describe('init', () => {
  it('prints the example to stdout and refuses to overwrite a file without --force', async () => {
    const printed = await runToEnd(BIN, ['init'], { cwd: dir })
    expect(printed.code).toBe(0)
    expect(printed.stdout).toContain('# Hypha gateway configuration (TOML).')
    const again = await runToEnd(BIN, ['init', '-o', 'gateway.toml'], { cwd: dir })
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('already exists (use --force')
    const forced = await runToEnd(BIN, ['init', '-o', 'gateway.toml', '-n', 'gateway', '--force'], { cwd: dir })
    expect(forced.code).toBe(0)
  })
})

describe('run', () => {
  it('serves health, metrics and peers; probe answers over libp2p; SIGTERM exits 0', async () => {
    const { proc, http, tcpAddr } = await runGateway()

    const live = await fetch(`${http}/health/live`)
    expect(live.status).toBe(200)
    const ready = await fetch(`${http}/health/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ok', info: { role: { status: 'up', role: 'gateway', listening: true } } })

    const metrics = await fetch(`${http}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toContain('text/plain')
    expect(await metrics.text()).toContain('hypha_connections')

    // the probe's own certificate: the gateway's would have the gateway's peer id
    const probeEnv = { HYPHA_SECURITY__CERT: 'certs/prober-cert.pem', HYPHA_SECURITY__KEY: 'certs/prober-key.pem' }
    const probed = await runToEnd(BIN, ['probe', tcpAddr, '--config', 'gateway.toml', '--timeout', '10s'], { cwd: dir, env: probeEnv })
    expect(probed.stderr).toBe('')
    expect(probed.code).toBe(0)
    const answer = JSON.parse(probed.stdout) as { role: string; ready: boolean; version: string }
    expect(answer).toMatchObject({ role: 'gateway', ready: true, version: '0.0.0-test' })

    const peers = await fetch(`${http}/peers`)
    expect(peers.status).toBe(200)
    expect(Array.isArray(await peers.json())).toBe(true)
    // POST /peers/:id/link: a bad id or body is the client's fault; a peer nobody knows, the network's
    const link = (id: string, body: unknown) =>
      fetch(`${http}/peers/${id}/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await link('not-a-peer-id', {})).status).toBe(400)
    const unknownPeer = '12D3KooWG9Z3zPLZVyK1pG9BDZgFN8QKhRWNjue5RPAKssdx6PBW'
    const tooBig = await link(unknownPeer, { probe_bytes: 2 ** 40 })
    expect(tooBig.status).toBe(400)
    expect(((await tooBig.json()) as { message: string }).message).toContain('probe_bytes')
    const unreachable = await link(unknownPeer, { timeout_ms: 2_000 })
    expect([502, 504]).toContain(unreachable.status)
    expect(((await unreachable.json()) as { message: string }).message).toContain(unknownPeer)

    const sentAt = Date.now()
    proc.child.kill('SIGTERM')
    const exit = await withTimeout(proc.exited, 10_000, 'the gateway did not stop after SIGTERM')
    expect(exit).toEqual({ code: 0, signal: null })
    expect(Date.now() - sentAt).toBeLessThan(10_000)
    expect(proc.stdout()).toContain('stopping the libp2p node')
  })

  it('probe with the node own certificate says so in one line', async () => {
    const { tcpAddr } = await runGateway()
    const probed = await runToEnd(BIN, ['probe', tcpAddr, '--config', 'gateway.toml'], { cwd: dir })
    expect(probed.code).toBe(2)
    expect(probed.stderr.trim().split('\n')).toHaveLength(1)
    expect(probed.stderr).toContain("this certificate's own peer id")
  })

  it('probe of an address where nobody answers exits non-zero with one line', async () => {
    const { tcpAddr, proc } = await runGateway()
    proc.child.kill('SIGKILL')
    await proc.exited
    const probeEnv = { HYPHA_SECURITY__CERT: 'certs/prober-cert.pem', HYPHA_SECURITY__KEY: 'certs/prober-key.pem' }
    const probed = await runToEnd(BIN, ['probe', tcpAddr, '--config', 'gateway.toml', '--timeout', '3s'], { cwd: dir, env: probeEnv })
    expect(probed.code).toBe(1)
    expect(probed.stderr).toContain('no answer from')
    expect(probed.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('a bad configuration key exits 2 naming the key, without a stack trace', async () => {
    await writeFile(join(dir, 'bad.toml'), '[network]\nmax_conections = 200\n')
    const result = await runToEnd(BIN, ['run', '--config', 'bad.toml'], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('network.max_conections')
    expect(result.stderr).toContain('did you mean "max_connections"')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('usage errors exit 2 with one line', async () => {
    for (const args of [[], ['frobnicate'], ['run'], ['probe', '/ip4/127.0.0.1/tcp/1', '--config', 'gateway.toml'], ['--nope']]) {
      const result = await runToEnd(BIN, args, { cwd: dir })
      expect(result.code).toBe(2)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
    }
    const help = await runToEnd(BIN, ['--help'], { cwd: dir })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('probe ADDR --config FILE')
  })
})
