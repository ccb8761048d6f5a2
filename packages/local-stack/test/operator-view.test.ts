// The operator's view against a real topology of processes: a gateway, a scheduler, a worker
// linked directly and one that only the relay connects to the scheduler, plus an intruder of a
// foreign CA that every node refuses. hypha-inspect (the bin, as a child process) probes,
// looks up, reads certificates, lists peers and watches tasks; the page (GET /) in headless
// Chromium draws the direct and the relayed link differently, the gateway's reservations, the
// refused intruder and the scheduler's tasks with progress, and leaves screenshots behind.
//
// The relayed link on loopback: the scheduler listens on 127.0.0.2 and the "relayed" worker on
// 127.0.0.3, each excluding the other's address (network.exclude_cidrs), both holding a
// reservation on the gateway (reachability private). They can meet only through the circuit,
// and the hole punch cannot turn it direct.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { waitFor } from '@hypha/app-kit/testing'
import { loadIdentityMaterial, writeDevPki } from '@hypha/mtls'
import { type Browser, chromium } from 'playwright-core'
import { identityFilesOf, LocalStack, loopbackAddresses, type NodeProcess, type StackNode } from '../src/index.js'

const run = promisify(execFile)
const INSPECT = join(dirname(fileURLToPath(import.meta.resolve('@hypha/inspect'))), '..', '..', 'bin', 'hypha-inspect.js')
/** Screenshots are kept here for a person to look at (CI artefacts). */
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts')
const CHROMIUM = process.env.HYPHA_CHROMIUM ?? '/usr/bin/chromium'

let dir: string
let stack: LocalStack
let direct: StackNode
let relayed: StackNode
let intruderId: string
let intruder: NodeProcess | undefined

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs the bin from elsewhere than the stack's directory, as an operator would: the configs name
 * the PKI relative to that directory (where the nodes run), and hypha-inspect finds it beside them.
 */
async function inspect(...argv: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [INSPECT, ...argv], {
      cwd: tmpdir(),
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string }
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

async function json<T>(...argv: string[]): Promise<T> {
  const result = await inspect(...argv, '--json')
  if (result.code !== 0) throw new Error(`hypha-inspect ${argv.join(' ')} exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}

interface PeerRow {
  id: string
  direct: boolean
  relay: string | null
  roles: string[]
}

async function peersOf(node: StackNode): Promise<PeerRow[]> {
  return (await json<{ peers: PeerRow[] }>('peers', node.url)).peers
}

async function submit(body: unknown): Promise<string> {
  const response = await fetch(`${stack.scheduler.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (response.status !== 201) throw new Error(`POST /tasks answered ${response.status}`)
  return ((await response.json()) as { id: string }).id
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hypha-operator-'))
  const listenOn = (ip: string) => `/ip4/${ip}/tcp/0,/ip4/${ip}/udp/0/quic-v1`
  stack = await LocalStack.start({
    dir,
    workers: 1,
    ports: 'ephemeral',
    env: (name, role) => {
      if (role === 'scheduler')
        return {
          HYPHA_NETWORK__LISTEN_ADDRESSES: listenOn('127.0.0.2'),
          HYPHA_NETWORK__EXCLUDE_CIDRS: '127.0.0.3/32',
          HYPHA_NETWORK__NAT__REACHABILITY: 'private',
        }
      if (name === 'worker-relayed')
        return {
          HYPHA_NETWORK__LISTEN_ADDRESSES: listenOn('127.0.0.3'),
          HYPHA_NETWORK__EXCLUDE_CIDRS: '127.0.0.2/32',
          HYPHA_NETWORK__NAT__REACHABILITY: 'private',
        }
      return {}
    },
  })
  direct = stack.node('worker-1')
  relayed = (await stack.addWorker('worker-relayed')) as StackNode
  const foreign = await writeDevPki({ dir: join(dir, 'foreign-pki'), organisation: 'mallory', nodes: ['intruder'] })
  const intruderFiles = foreign.nodes.intruder
  if (intruderFiles === undefined) throw new Error('no intruder identity')
  intruderId = (await loadIdentityMaterial(intruderFiles)).peerId.toString()
  intruder = (await stack.addWorker('intruder', {
    identity: intruderFiles,
    waitReady: false,
    bootstrap: loopbackAddresses(stack.gateway.info),
  })) as NodeProcess
  // Workers connect to a scheduler once it announces work: a few short tasks bring both in.
  // The topology this file is about: one direct worker, one through the relay only.
  for (let i = 0; i < 6; i++) await submit({ executor: 'sleep', input: '300' })
  await waitFor(
    async () => {
      const peers = await peersOf(stack.scheduler)
      const viaRelay = peers.find((p) => p.id === relayed.info.peerId)
      return peers.some((p) => p.id === direct.info.peerId && p.direct) && viaRelay !== undefined && !viaRelay.direct ? true : undefined
    },
    60_000,
    'the scheduler to see worker-1 direct and worker-relayed through the relay',
  )
}, 180_000)

afterAll(async () => {
  await stack?.stop(5_000)
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
}, 60_000)

describe('hypha-inspect against the running stack', () => {
  it('peers: the direct worker, the relayed one through the gateway, and the refused intruder', async () => {
    const gatewayId = stack.gateway.info.peerId
    const peers = await peersOf(stack.scheduler)
    expect(peers.find((p) => p.id === direct.info.peerId)).toMatchObject({ direct: true, relay: null, roles: ['worker'] })
    expect(peers.find((p) => p.id === relayed.info.peerId)).toMatchObject({ direct: false, relay: gatewayId, roles: ['worker'] })
    expect(peers.find((p) => p.id === gatewayId)).toMatchObject({ direct: true, roles: ['gateway'] })

    const table = await inspect('peers', stack.scheduler.url)
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^PEER +ROLE +TRANSPORT +LINK +LATENCY +SINCE$/m)
    expect(table.stdout).toMatch(new RegExp(`^${relayed.info.peerId} +worker +relay +relayed via ${gatewayId} `, 'm'))
    expect(table.stdout).not.toContain('\u001b[')

    const refused = await waitFor(
      async () => {
        const view = await json<{
          refusals: { recent: Array<{ peerId?: string; reason: string }> }
          relayServer: { reservations: string[] }
        }>('peers', stack.gateway.url)
        return view.refusals.recent.some((r) => r.peerId === intruderId) ? view : undefined
      },
      30_000,
      'the gateway to list the intruder as refused',
    )
    expect(refused.refusals.recent.find((r) => r.peerId === intruderId)?.reason).toBe('untrusted')
    expect(refused.relayServer.reservations).toEqual(expect.arrayContaining([stack.scheduler.info.peerId, relayed.info.peerId]))
    expect((await inspect('peers', stack.gateway.url)).stdout).toMatch(/^Refused \(.*untrusted \d+.*\):$/m)
  })

  it('probe: ready answers exit 0, a peer that is not there exits 1', async () => {
    const gatewayAddress = loopbackAddresses(stack.gateway.info).find((a) => a.includes('/tcp/')) as string
    const ready = await inspect('probe', gatewayAddress, '--config', direct.configFile)
    expect(ready).toMatchObject({ code: 0 })
    expect(ready.stdout).toMatch(/^ready: gateway /)
    const gone = await inspect('probe', `/ip4/127.0.0.1/tcp/9/p2p/${direct.info.peerId}`, '--config', relayed.configFile, '--timeout', '2s')
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain('no answer from')
  })

  it('lookup: finds the relayed worker with its relay, and gives up on an unknown peer', async () => {
    type Found = {
      peerId: string
      via: string
      relays: string[]
      addresses: Array<{ address: string; transport: string; relay: string | null }>
    }
    const found = await json<Found>('lookup', relayed.info.peerId, '--config', direct.configFile)
    expect(found.peerId).toBe(relayed.info.peerId)
    expect(['dht', 'relay']).toContain(found.via)
    // whichever way it was found (the DHT answers from what the gateway knows; else the circuit
    // through the gateway reaches it), each address is one of the worker's own or its circuit
    expect(found.addresses.length).toBeGreaterThan(0)
    for (const entry of found.addresses) {
      if (entry.transport === 'relay') expect(entry.relay).toBe(stack.gateway.info.peerId)
      else expect(relayed.info.addresses).toContain(entry.address)
    }
    const unknown = await inspect(
      'lookup',
      '12D3KooWQ4QRR6hcz9mRPuuqa7J1bLp6vRHAQAMFJHN57w35YZLA',
      '--config',
      direct.configFile,
      '--timeout',
      '3s',
    )
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('not found')
  })

  it("cert-info: a stack certificate verifies with its role; the intruder's does not", async () => {
    const files = identityFilesOf({ dir: join(dir, 'pki'), organisation: 'hypha-dev' }, 'worker-relayed')
    const info = await json<{ peerId: string; roles: string[]; verification: string }>('cert-info', files.cert, '--trust', files.trust)
    expect(info).toMatchObject({ peerId: relayed.info.peerId, roles: ['worker'], verification: 'verified' })
    const foreign = await inspect('cert-info', join(dir, 'foreign-pki', 'intruder-cert.pem'), '--trust', files.trust)
    expect(foreign.code).toBe(1)
    expect(foreign.stdout).toMatch(/^Verification: +refused: untrusted/m)
  })

  it('tasks --watch: follows a task to the end, then exits 0', async () => {
    const id = await submit({ executor: 'sleep', input: '2500' })
    const watched = await inspect('tasks', stack.scheduler.url, '--watch', '--state', 'pending,assigned,running,succeeded')
    expect(watched.code).toBe(0)
    const lines = watched.stdout.split('\n').filter((l) => l.startsWith(id))
    expect(lines.some((l) => / running /.test(l))).toBe(true)
    expect(lines.at(-1)).toMatch(/ succeeded .*\[#{20}\] 100%/)
    const listed = await json<Array<{ id: string; state: string }>>('tasks', stack.scheduler.url)
    expect(listed.find((t) => t.id === id)?.state).toBe('succeeded')
  })
})

describe('the operator page in headless Chromium', () => {
  let browser: Browser

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })

  afterAll(async () => {
    await browser?.close()
  })

  async function open(node: StackNode) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    await page.goto(`${node.url}/`)
    return { page, errors }
  }

  it("draws the scheduler's direct and relayed workers differently and its tasks with progress", async () => {
    const id = await submit({ executor: 'sleep', input: '4000' })
    const { page, errors } = await open(stack.scheduler)
    try {
      const gatewayId = stack.gateway.info.peerId
      await page.waitForSelector(`svg .link[data-kind="relayed"][data-peer="${relayed.info.peerId}"][data-relay="${gatewayId}"]`)
      await page.waitForSelector(`svg .link[data-kind="direct"][data-peer="${direct.info.peerId}"]`)
      expect(await page.locator('svg .node[data-role="gateway"]').count()).toBe(1)
      expect(await page.locator('svg .node[data-self]').getAttribute('data-role')).toBe('scheduler')
      // solid and dashed, as the legend says
      const dash = (selector: string) => page.locator(selector).evaluate((el) => getComputedStyle(el).strokeDasharray)
      expect(await dash(`svg .link[data-peer="${direct.info.peerId}"]`)).toBe('none')
      expect(await dash(`svg .link[data-peer="${relayed.info.peerId}"]`)).not.toBe('none')
      // the task, live: running with a bar, then succeeded at 100 %
      await page.waitForSelector(`#tasks tr[data-task="${id}"][data-state="running"] [role="progressbar"]`)
      await page.screenshot({ path: join(ARTIFACTS, 'operator-page-scheduler.png'), fullPage: true })
      await page.waitForSelector(`#tasks tr[data-task="${id}"][data-state="succeeded"] [role="progressbar"][aria-valuenow="100"]`, {
        timeout: 30_000,
      })
      expect(await page.locator('#tasks-section').isVisible()).toBe(true)
      expect(errors).toEqual([])
    } finally {
      await page.close()
    }
  })

  it("shows the gateway's reservations and the refused intruder, and no tasks", async () => {
    const { page, errors } = await open(stack.gateway)
    try {
      await page.waitForSelector(`#refusals tr[data-reason="untrusted"]`)
      expect(await page.locator('#reservations').innerText()).toMatch(/As a relay: [2-9]\d* \/ \d+ reservations/)
      expect(await page.locator(`svg .node[data-peer="${relayed.info.peerId}"] text`).first().innerHTML()).toContain('· R')
      expect(await page.locator('#tasks-section').isVisible()).toBe(false)
      await page.screenshot({ path: join(ARTIFACTS, 'operator-page-gateway.png'), fullPage: true })
      expect(errors).toEqual([])
      expect(intruder?.running).toBe(true)
    } finally {
      await page.close()
    }
  })
})
