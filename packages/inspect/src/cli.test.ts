// hypha-inspect without a network: usage errors exit 2, cert-info reads real certificates
// (valid, expired, revoked, foreign), tables align and carry no colour off a terminal, and
// peers/tasks fail with a clear line when the URL is not a Hypha node.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { TestPki } from '@hypha/mtls/testing'
import { main } from './cli.js'
import type { Output } from './output.js'
import { progressBar, table } from './output.js'

interface Captured extends Output {
  out: string
  err: string
}

function capture(tty = false): Captured {
  const captured: Captured = {
    tty,
    colour: tty,
    out: '',
    err: '',
    write: (text) => {
      captured.out += text
    },
    error: (text) => {
      captured.err += text
    },
  }
  return captured
}

let pki: TestPki

beforeAll(async () => {
  pki = await TestPki.create()
})

afterAll(async () => {
  await pki.cleanup()
})

/** A worker certificate of the acme organisation (or `options.organisation`), chain written as a node presents it. */
async function nodeCert(name: string, options: Parameters<TestPki['node']>[1] = {}) {
  const node = await pki.node(name, { roles: ['worker'], ...options })
  return { path: node.files.cert, node }
}

describe('hypha-inspect cert-info', () => {
  it('shows the PeerId, roles and validity of a good certificate, verified against the trust bundle', async () => {
    const { path } = await nodeCert('worker-1')
    const output = capture()
    expect(await main(['cert-info', path, '--trust', pki.org.trustPath], output)).toBe(0)
    expect(output.out).toMatch(/^PeerId: +12D3KooW/m)
    expect(output.out).toMatch(/^Roles: +worker$/m)
    expect(output.out).toMatch(/^Verification: +verified$/m)
    expect(output.out).toMatch(/\(36[45] days left\)/)
    expect(output.out).not.toContain('\u001b[')
  })

  it('exits 1 for an expired certificate and says so', async () => {
    const { path } = await nodeCert('old', {
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 2 * 86_400_000),
    })
    const output = capture()
    expect(await main(['cert-info', path, '--trust', pki.org.trustPath, '--json'], output)).toBe(1)
    const info = JSON.parse(output.out)
    expect(info).toMatchObject({ verification: 'expired', roles: ['worker'] })
    expect(info.daysLeft).toBeLessThan(0)
  })

  it('exits 1 for a certificate its issuer revoked', async () => {
    const { path, node } = await nodeCert('revoked')
    await pki.revoke(node)
    const crlPath = pki.org.crlPath
    const output = capture()
    expect(await main(['cert-info', path, '--crl', crlPath], output)).toBe(1)
    expect(output.out).toMatch(/^Revocation: +REVOKED/m)
    const good = await nodeCert('not-revoked')
    const clean = capture()
    expect(await main(['cert-info', good.path, '--crl', crlPath], clean)).toBe(0)
    expect(clean.out).toMatch(/^Revocation: +not revoked$/m)
  })

  it("exits 1 for a foreign organisation's certificate with the reason a node gives", async () => {
    const { path } = await nodeCert('intruder', { organisation: pki.foreign })
    const output = capture()
    expect(await main(['cert-info', path, '--trust', pki.org.trustPath, '--json'], output)).toBe(1)
    expect(JSON.parse(output.out).verification).toBe('untrusted')
  })

  it('names a missing file', async () => {
    const output = capture()
    expect(await main(['cert-info', join(pki.dir, 'nope.pem')], output)).toBe(1)
    expect(output.err).toBe(`hypha-inspect: cannot read the certificate '${join(pki.dir, 'nope.pem')}': ENOENT\n`)
  })
})

describe('hypha-inspect usage', () => {
  it.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['peers'], 'peers takes one URL'],
    [['peers', 'ftp://x'], 'only http:// and https:// URLs'],
    [['tasks', 'http://127.0.0.1:1', '--state', 'done'], "--state 'done' is not a task state"],
    [['tasks', 'http://127.0.0.1:1', '--limit', '0'], '--limit must be a whole number'],
    [['probe', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQ4QRR6hcz9mRPuuqa7J1bLp6vRHAQAMFJHN57w35YZLA'], 'needs --config FILE'],
    [['peers', 'http://x', '--colour'], "Unknown option '--colour'"],
  ])('%j exits 2: %s', async (argv, message) => {
    const output = capture()
    expect(await main(argv, output, {})).toBe(2)
    expect(output.err).toContain(message)
  })

  it('prints the help with exit 0', async () => {
    const output = capture()
    expect(await main(['--help'], output)).toBe(0)
    expect(output.out).toContain('usage: hypha-inspect <command>')
  })
})

describe('hypha-inspect against something that is not a Hypha node', () => {
  let server: Server
  let url: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/network') res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}')
      else res.writeHead(404).end('not here')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('says the answer is not a network view', async () => {
    const output = capture()
    expect(await main(['peers', url], output)).toBe(1)
    expect(output.err).toMatch(
      /did not answer a node's network view \(GET \/network\) \(peerId: .*\): is it a Hypha node of this version\?/,
    )
  })

  it('says when nothing listens', async () => {
    // a port that was just free: nothing listens on it now
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as AddressInfo
    await new Promise((resolve) => probe.close(resolve))
    const output = capture()
    expect(await main(['peers', `http://127.0.0.1:${port}`], output)).toBe(1)
    expect(output.err).toBe(`hypha-inspect: cannot reach http://127.0.0.1:${port}/network: ECONNREFUSED\n`)
  })

  it('reports a tasks URL that is not a scheduler', async () => {
    const output = capture()
    expect(await main(['tasks', url], output)).toBe(1)
    expect(output.err).toContain('/tasks')
    expect(output.err).toContain('404')
  })
})

describe('tables and bars', () => {
  it('aligns columns to the widest cell, ignoring colour codes', () => {
    expect(
      table(
        ['a', 'bb'],
        [
          ['\u001b[32mxxx\u001b[0m', 'y'],
          ['z', 'w'],
        ],
      ),
    ).toBe('A    BB\n\u001b[32mxxx\u001b[0m  y\nz    w\n')
  })

  it('draws a bar per fraction, unknown progress as ?', () => {
    expect(progressBar(0.5, 10)).toBe('[#####-----]  50%')
    expect(progressBar(1, 4)).toBe('[####] 100%')
    expect(progressBar(undefined, 4)).toBe('[----]    ?')
  })
})
