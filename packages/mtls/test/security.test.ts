// The mtls security end to end, with real libp2p nodes on loopback over TCP (TLS encrypter)
// and QUIC (admission protocol): who may connect, who is refused and why, and reloads.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { byteStream } from '@libp2p/utils'
import type { multiaddr } from '@multiformats/multiaddr'
import { NodeIdentity } from '../src/index.js'
import { CaptureLog } from './fixtures/capture-log.js'
import { ECHO_PROTOCOL, type MtlsNode, type TransportName, createMtlsNode, createStockNode, echo } from './fixtures/nodes.js'
import { TestPki } from './fixtures/test-pki.js'

const DAY = 86_400_000

let pki: TestPki
const started: Array<Libp2p | NodeIdentity> = []

beforeAll(async () => {
  pki = await TestPki.create()
})

afterEach(async () => {
  for (const item of started.splice(0)) {
    if (item instanceof NodeIdentity) item.close()
    else await item.stop()
  }
})

afterAll(async () => {
  await pki.cleanup()
})

async function identity(name: string, options: Parameters<TestPki['node']>[1] = {}): Promise<{ identity: NodeIdentity; log: CaptureLog }> {
  const node = await pki.node(name, options)
  const log = new CaptureLog()
  const loaded = await NodeIdentity.load(node.files, { log })
  started.push(loaded)
  return { identity: loaded, log }
}

/** A node whose own certificate is bad (foreign, expired, not yet valid): loaded without the self-check. */
async function badIdentity(name: string, options: Parameters<TestPki['node']>[1]): Promise<NodeIdentity> {
  const bad = await pki.node(name, options)
  const loaded = await NodeIdentity.load(bad.files, { log: new CaptureLog(), checkOwnChain: false })
  started.push(loaded)
  return loaded
}

/** libp2p may reject with an Error or, when a connection closes under it, a bare Event. */
async function expectRefused(attempt: Promise<unknown>): Promise<void> {
  await expect(attempt.then(() => 'connected', () => 'refused')).resolves.toBe('refused')
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function start(node: Promise<MtlsNode | Libp2p>): Promise<MtlsNode> {
  const n = (await node) as MtlsNode
  started.push(n)
  return n
}

describe.each<TransportName>(['tcp', 'quic'])('mtls over %s', (transport) => {
  it('connects two nodes of one CA and exchanges a stream; PeerIds come from the certificates', async () => {
    const a = await identity(`a-${transport}`)
    const b = await identity(`b-${transport}`)
    const nodeA = await start(createMtlsNode(a.identity, transport))
    const nodeB = await start(createMtlsNode(b.identity, transport))
    expect(nodeA.peerId.equals(a.identity.peerId)).toBe(true)

    expect(await echo(nodeA, nodeB, 'hello over mtls')).toBe('hello over mtls')
    const [connection] = nodeA.getConnections(nodeB.peerId)
    expect(connection !== undefined && nodeA.services.mtlsAdmission.isAdmitted(connection)).toBe(true)
    expect(connection?.remotePeer.equals(b.identity.peerId)).toBe(true)
    expect(connection?.encryption).toBe(transport === 'tcp' ? '/hypha/mtls/1.0.0' : 'native')
    expect(a.log.lines.filter((l) => l.level === 'warn')).toEqual([])
    expect(b.log.lines.filter((l) => l.level === 'warn')).toEqual([])
  })

  const refusals: Array<[string, string, () => Promise<NodeIdentity>]> = [
    ['a node of another CA', 'untrusted', async () => badIdentity(`foreign-${transport}`, { organisation: pki.foreign })],
    ['an expired node', 'expired', async () => badIdentity(`expired-${transport}`, { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) })],
    ['a not-yet-valid node', 'not-yet-valid', async () => badIdentity(`future-${transport}`, { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) })],
  ]

  it.each(refusals)('refuses %s (reason %s), on the listening and on the dialling side', async (_what, reason, makeBad) => {
    const good = await identity(`good-${reason}-${transport}`)
    const goodNode = await start(createMtlsNode(good.identity, transport))
    const badNode = await start(createMtlsNode(await makeBad(), transport, { admissionTimeoutMs: 5_000 }))

    // The bad node dials: the good node (server side) must refuse it.
    await expectRefused(echo(badNode, goodNode, 'let me in'))
    const line = await good.log.waitForRefusal(reason)
    expect(line.fields.via).toBe(transport === 'tcp' ? 'tls' : 'admission')
    expect(String(line.fields.detail)).toContain(reason)

    // A good node dials the bad one: refused on the client side as well. (Not the first good node:
    // having refused the bad one, it holds back its dials to it until the back-off ends.)
    await waitFor(() => goodNode.getConnections(badNode.peerId).length === 0 && badNode.getConnections(goodNode.peerId).length === 0, 'both sides closed the refused connection')
    const other = await identity(`other-${reason}-${transport}`)
    const otherNode = await start(createMtlsNode(other.identity, transport))
    await expectRefused(echo(otherNode, badNode, 'hello?'))
    await other.log.waitForRefusal(reason)
    expect(otherNode.getConnections(badNode.peerId)).toHaveLength(0)
    good.log.lines.length = 0
    await expect(echo(goodNode, badNode, 'hello again?')).rejects.toThrow(/gater|denied/i)
    expect(good.log.lines.filter((l) => l.message === 'peer refused')).toEqual([])
  })

  it('refuses a revoked node, and the gater refuses it before any handshake afterwards', async () => {
    const good = await identity(`good-revoked-${transport}`)
    const revokedFiles = await pki.node(`revoked-${transport}`)
    const revoked = await NodeIdentity.load(revokedFiles.files, { log: new CaptureLog() })
    started.push(revoked)
    await pki.revoke(revokedFiles)
    await good.identity.reload()

    const goodNode = await start(createMtlsNode(good.identity, transport))
    const revokedNode = await start(createMtlsNode(revoked, transport))
    await expectRefused(echo(revokedNode, goodNode, 'let me in'))
    await good.log.waitForRefusal('revoked')
    expect(good.identity.peers.isKnownRevoked(revoked.peerId)).toBe(true)
    await waitFor(() => goodNode.getConnections(revokedNode.peerId).length === 0, 'the refused connection is gone')
    await expectRefused(goodNode.dial(revokedNode.getMultiaddrs()[0] as ReturnType<typeof multiaddr>))
  })

  it('refuses a node whose libp2p key does not match its certificate', async () => {
    const good = await identity(`good-impostor-${transport}`)
    const victim = await identity(`victim-${transport}`)
    const goodNode = await start(createMtlsNode(good.identity, transport))
    // The impostor presents the victim's certificate but holds another key.
    const impostorKey = await generateKeyPair('Ed25519')
    const impostorNode = await start(createMtlsNode(victim.identity, transport, { privateKey: impostorKey }))
    const impostorAddr = impostorNode.getMultiaddrs()[0] as ReturnType<typeof multiaddr>
    expect(impostorAddr.toString()).toContain(peerIdFromPrivateKey(impostorKey).toString())

    if (transport === 'quic') {
      // QUIC authenticates the impostor's key; its certificate names another: refused by admission.
      await expectRefused(echo(impostorNode, goodNode, 'let me in'))
      await good.log.waitForRefusal('peer-id-mismatch')
    }
    // Dialling the impostor's PeerId: TLS proves the certificate key, which is not that PeerId.
    await expectRefused(goodNode.dialProtocol(impostorAddr, ECHO_PROTOCOL, { signal: AbortSignal.timeout(10_000) }))
    await good.log.waitForRefusal('peer-id-mismatch')
  })

  it('applies a CRL updated on disk to the next connection and to open ones, without a restart', async () => {
    const a = await identity(`crl-a-${transport}`)
    const bFiles = await pki.node(`crl-b-${transport}`)
    const b = await NodeIdentity.load(bFiles.files, { log: new CaptureLog() })
    started.push(b)
    a.identity.watch()
    const nodeA = await start(createMtlsNode(a.identity, transport))
    const nodeB = await start(createMtlsNode(b, transport))
    expect(await echo(nodeB, nodeA, 'before')).toBe('before')

    const reloaded = new Promise((resolve) => a.identity.addEventListener('reloaded', resolve, { once: true }))
    await pki.revoke(bFiles)
    await reloaded
    // The open connection is swept...
    await a.log.waitForRefusal('revoked')
    expect(a.log.refusals('revoked')[0]?.fields.via).toBe('recheck')
    await waitFor(() => nodeB.getConnections(nodeA.peerId).length === 0, 'B sees its connection to A closed')
    // ...and a new one is refused.
    await expectRefused(echo(nodeB, nodeA, 'after'))
  })

  it('lets a stock libp2p node open no protocol on an mtls node', async () => {
    const good = await identity(`good-stock-${transport}`)
    const goodNode = await start(createMtlsNode(good.identity, transport, { admissionTimeoutMs: 1_500 }))
    let served = 0
    await goodNode.handle('/test/secret/1.0.0', async (stream) => {
      served++
      await byteStream(stream).write(new TextEncoder().encode('secret'))
      await stream.close()
    })
    const stock = await start(createStockNode(transport))
    const target = goodNode.getMultiaddrs()[0] as ReturnType<typeof multiaddr>
    // Over QUIC the protocol name may be negotiated before admission fails, so the proof is
    // that nothing is served: the dial fails or the stream ends without the secret.
    const attempt = async (): Promise<string> => {
      const stream = await stock.dialProtocol(target, '/test/secret/1.0.0', { signal: AbortSignal.timeout(10_000) })
      const reply = await byteStream(stream).read({ signal: AbortSignal.timeout(10_000) })
      return reply === null ? 'closed' : new TextDecoder().decode(reply.subarray())
    }
    expect(await attempt().catch(() => 'refused')).not.toBe('secret')
    await expectRefused((stock.services as unknown as { ping: { ping(addr: unknown, o: unknown): Promise<number> } }).ping.ping(target, { signal: AbortSignal.timeout(5_000) }))
    expect(served).toBe(0)
    if (transport === 'quic') {
      // QUIC lets the connection open (its TLS is libp2p's self-signed kind); admission closes it.
      await good.log.waitForRefusal('admission-timeout')
    }
  })
})

describe('stream handling on admitted QUIC connections', () => {
  it('runs a handler exactly once per inbound stream (libp2p 3.3 middleware accumulation guarded)', async () => {
    const a = await identity('mw-a')
    const b = await identity('mw-b')
    const nodeA = await start(createMtlsNode(a.identity, 'quic'))
    const nodeB = await start(createMtlsNode(b.identity, 'quic'))
    let calls = 0
    await nodeB.handle('/test/count/1.0.0', async (stream) => {
      calls++
      await stream.close()
    })
    for (let i = 0; i < 5; i++) {
      const stream = await nodeA.dialProtocol(nodeB.getMultiaddrs()[0] as ReturnType<typeof multiaddr>, '/test/count/1.0.0')
      await stream.close()
    }
    const deadline = Date.now() + 5_000
    while (calls < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(calls).toBe(5)
  })

  it.each<TransportName>(['tcp', 'quic'])('never runs the local handler for an outbound stream (identify completes over %s)', async (transport) => {
    const a = await identity(`id-a-${transport}`)
    const b = await identity(`id-b-${transport}`)
    const nodeA = await start(createMtlsNode(a.identity, transport))
    const nodeB = await start(createMtlsNode(b.identity, transport))
    // An inbound echo stream first: libp2p would leave its handler in the middleware array.
    expect(await echo(nodeB, nodeA, 'warm up')).toBe('warm up')
    let served = 0
    await nodeA.handle('/test/outbound/1.0.0', async (stream) => {
      served++
      await stream.close()
    })
    await nodeB.handle('/test/outbound/1.0.0', async (stream) => {
      await stream.close()
    })
    const stream = await nodeA.dialProtocol(nodeB.peerId, '/test/outbound/1.0.0')
    await stream.close()
    expect(served).toBe(0)
    await waitFor(async () => (await nodeA.peerStore.get(nodeB.peerId)).protocols.includes(ECHO_PROTOCOL), 'identify recorded the remote protocols')
  })
})
