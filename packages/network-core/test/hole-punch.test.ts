// Hole punching through the node factory, on loopback: two unreachable TCP nodes hold
// reservations on a relay; one dials the other through /p2p-circuit and DCUtR (our driver) must
// replace the relayed connection by a direct TCP+mTLS+yamux one dialled from the listen ports.
// Loopback has no NAT, so the initiator's SYN reaches the responder's listener (the "accepted"
// outcome of a punch); the NAT lab (e2e) covers the true simultaneous open.
import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { defineProtocol } from '../src/messaging/request-response/index.js'
import type { HolePunchResult } from '../src/nat/hole-punch/index.js'
import type { HolePunch } from '../src/nat/hole-punch/index.js'
import { isCircuitAddress, transportOf } from '../src/connection/addresses.js'
import type { HyphaNode } from '../src/node/hypha-node.js'
import { addressOf, useTestNetwork, waitFor } from '../src/testing/test-network.js'

const Echo = defineProtocol('/test/echo/1.0.0', {
  request: z.object({ text: z.string() }),
  response: z.object({ text: z.string() }),
})

const net = useTestNetwork(24)

async function natedNode(bootstrap: string[], holePunching = true): Promise<HyphaNode> {
  const node = await net().start({
    role: 'worker',
    transports: 'tcp',
    bootstrap,
    toml: { 'network.nat': { reachability: 'private', reservation_check_interval: '200ms', hole_punching: holePunching } },
  })
  await node.rpc.handle(Echo.id, Echo, async (request) => ({ text: request.text }))
  await waitFor(() => node.health().reservationHeld, 'the node holds a relay reservation')
  return node
}

function holePunchOf(node: HyphaNode): HolePunch {
  return node.services.holePunch as HolePunch
}

function nextResult(node: HyphaNode, peer: HyphaNode): Promise<HolePunchResult> {
  return new Promise((resolve) => {
    const onResult = (evt: CustomEvent<HolePunchResult>): void => {
      if (!evt.detail.peer.equals(peer.peerId)) return
      holePunchOf(node).removeEventListener('hole-punch:result', onResult)
      resolve(evt.detail)
    }
    holePunchOf(node).addEventListener('hole-punch:result', onResult)
  })
}

async function bytesOut(node: HyphaNode, name: 'hypha_bytes_total' | 'hypha_relayed_bytes_total'): Promise<number> {
  const line = (await node.registry.metrics()).split('\n').find((l) => l.startsWith(`${name}{direction="out"}`))
  return Number(line?.split(' ')[1] ?? Number.NaN)
}

const connectionsBetween = (a: HyphaNode, b: HyphaNode) => a.libp2p.getConnections(b.peerId).filter((c) => c.status === 'open')

async function pair(): Promise<{ a: HyphaNode; b: HyphaNode }> {
  const relay = await net().start({ role: 'gateway', transports: 'tcp' })
  const bootstrap = [addressOf(relay, 'tcp')]
  const [a, b] = await Promise.all([natedNode(bootstrap), natedNode(bootstrap)])
  return { a: a as HyphaNode, b: b as HyphaNode }
}

it('learns its TCP address as observed by the relay: the listen port itself (dials leave from it)', async () => {
  const { a } = await pair()
  const port = addressOf(a, 'tcp').split('/')[4]
  await waitFor(() => holePunchOf(a).observedAddresses().length > 0, 'an observed address')
  expect(holePunchOf(a).observedAddresses().map(String)).toContain(`/ip4/127.0.0.1/tcp/${port}`)
})

it('a dial whose listen-port 4-tuple is taken falls back to an ephemeral port', async () => {
  const [a, b] = [await net().start({ transports: 'tcp' }), await net().start({ transports: 'tcp' })]
  const first = await a.dial(multiaddr(addressOf(b, 'tcp')))
  // b dialling a's listen address from its own listen port would be the same 4-tuple as `first`
  const second = await b.libp2p.dial(multiaddr(addressOf(a, 'tcp')), { force: true })
  expect(second.id).not.toBe(first.id)
  expect(second.status).toBe('open')
  expect(connectionsBetween(b, a)).toHaveLength(2)
})

it('upgrades a relayed connection to a direct one, again on every fresh connection', async () => {
  const { a, b } = await pair()
  const circuit = b.getMultiaddrs().find(isCircuitAddress)
  if (circuit === undefined) throw new Error('no circuit address')
  for (let round = 0; round < 4; round++) {
    const atA = nextResult(a, b)
    const atB = nextResult(b, a)
    const relayed = await a.dial(circuit)
    expect(transportOf(relayed)).toBe('relay')
    const [initiator, responder] = await Promise.all([atA, atB])
    expect(responder).toMatchObject({ outcome: 'direct', role: 'responder' })
    expect(initiator).toMatchObject({ outcome: 'direct', role: 'initiator' })
    await waitFor(() => connectionsBetween(a, b).every((c) => transportOf(c) === 'tcp') && connectionsBetween(a, b).length > 0, 'only direct connections left')
    // the roles agree end to end: streams open both ways on the direct connection
    expect((await a.rpc.request(b.peerId, Echo.id, Echo, { text: `a->b ${round}` })).text).toBe(`a->b ${round}`)
    expect((await b.rpc.request(a.peerId, Echo.id, Echo, { text: `b->a ${round}` })).text).toBe(`b->a ${round}`)
    expect(connectionsBetween(a, b).every((c) => transportOf(c) === 'tcp')).toBe(true)
    await a.libp2p.hangUp(b.peerId)
    await waitFor(() => connectionsBetween(a, b).length === 0 && connectionsBetween(b, a).length === 0, 'the pair disconnected')
  }
})

it('stays relayed when the responder has hole punching off, and the relayed link keeps working', async () => {
  const relay = await net().start({ role: 'gateway', transports: 'tcp' })
  const bootstrap = [addressOf(relay, 'tcp')]
  const a = await natedNode(bootstrap)
  const b = await natedNode(bootstrap, false)
  const circuit = b.getMultiaddrs().find(isCircuitAddress)
  if (circuit === undefined) throw new Error('no circuit address')
  await a.dial(circuit)
  expect((await a.rpc.request(circuit, Echo.id, Echo, { text: 'relayed' })).text).toBe('relayed')
  expect(connectionsBetween(a, b).map(transportOf)).toEqual(['relay'])
  const relayedBefore = await bytesOut(a, 'hypha_relayed_bytes_total')
  expect((await a.probeLink(connectionsBetween(a, b)[0] as Connection, 256 * 1024)).matches).toBe(true)
  expect((await bytesOut(a, 'hypha_relayed_bytes_total')) - relayedBefore).toBeGreaterThanOrEqual(256 * 1024)
  expect(b.libp2p.getProtocols()).not.toContain('/libp2p/dcutr')
})

it('connect(peer id) goes relay -> punch -> direct, a probe moves 4 MiB over it intact, and the outcome is counted', async () => {
  const { a, b } = await pair()
  // a knows only b's relayed address, as a peer behind another NAT would (on loopback b's own
  // address is dialable; the NAT lab leaves the DHT lookup to find the circuit address)
  const circuit = b.getMultiaddrs().find(isCircuitAddress)
  if (circuit === undefined) throw new Error('no circuit address')
  await a.libp2p.peerStore.merge(b.peerId, { multiaddrs: [circuit] })
  const link = await a.connect(b.peerId, { signal: AbortSignal.timeout(20_000) })
  expect(link).toMatchObject({ direct: true, holePunch: { outcome: 'direct', role: 'initiator' } })
  expect(transportOf(link.connection)).toBe('tcp')
  const relayedBefore = await bytesOut(a, 'hypha_relayed_bytes_total')
  const totalBefore = await bytesOut(a, 'hypha_bytes_total')
  const probe = await a.probeLink(link.connection, 4 * 1024 * 1024)
  expect(probe).toMatchObject({ bytes: 4 * 1024 * 1024, matches: true })
  // the 4 MiB went direct: counted in the total, not as relayed
  expect((await bytesOut(a, 'hypha_bytes_total')) - totalBefore).toBeGreaterThanOrEqual(4 * 1024 * 1024)
  expect((await bytesOut(a, 'hypha_relayed_bytes_total')) - relayedBefore).toBeLessThan(64 * 1024)
  expect(probe.remoteSha256).toBe(probe.sha256)
  const metrics = await a.registry.metrics()
  expect(metrics).toMatch(/hypha_holepunch_total\{outcome="direct",role="initiator"\} 1/)
  // an already direct link is returned as it is; a fresh one is made again (here dialled straight
  // to the address identify taught a, as loopback allows)
  const again = await a.connect(b.peerId)
  expect(again).toMatchObject({ direct: true, holePunch: undefined })
  expect(again.connection.id).toBe(link.connection.id)
  const fresh = await a.connect(b.peerId, { fresh: true })
  expect(fresh.direct).toBe(true)
  expect(fresh.connection.id).not.toBe(link.connection.id)
})

it('connect(peer id) reaches a peer nobody told it about through the relay it shares with it', async () => {
  const { a, b } = await pair()
  // a has never seen b: no address in the peer store; the relay knows b by its reservation
  expect((await a.libp2p.peerStore.has(b.peerId)) ? (await a.libp2p.peerStore.get(b.peerId)).addresses : []).toEqual([])
  const link = await a.connect(b.peerId, { signal: AbortSignal.timeout(20_000) })
  expect(link.direct).toBe(true)
  expect(transportOf(link.connection)).toBe('tcp')
})

it('refuses a probe above the size limit without sending it', async () => {
  const { a, b } = await pair()
  const link = await a.connect(b.peerId)
  await expect(a.probeLink(link.connection, 1024 ** 3)).rejects.toThrow(/not within/)
})

it('port reuse does not let a second node listen on a port another node holds', async () => {
  const first = await net().start({ transports: 'tcp' })
  const port = addressOf(first, 'tcp').split('/')[4]
  await expect(net().start({ transports: 'tcp', listen: [`/ip4/127.0.0.1/tcp/${port}`] })).rejects.toThrow(/in use|listen/i)
})
