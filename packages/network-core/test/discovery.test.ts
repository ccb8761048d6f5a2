// Discovery through the node factory: a Kademlia DHT of 20 in-process nodes (mTLS, loopback)
// that only know one bootstrap peer, in which every node finds every other with find-peer.
import type { HyphaNode } from '../src/node/hypha-node.js'
import { TestNetwork, addressOf, waitFor } from '../src/testing/test-network.js'

const SIZE = 20
let net: TestNetwork
let nodes: HyphaNode[]

beforeAll(async () => {
  net = await TestNetwork.create(SIZE)
  const dht = { 'network.dht': { kademlia_mode: 'server' } }
  const first = await net.start({ transports: 'tcp', toml: dht })
  const bootstrap = [addressOf(first, 'tcp')]
  const rest = await Promise.all(Array.from({ length: SIZE - 1 }, () => net.start({ transports: 'tcp', bootstrap, toml: dht })))
  nodes = [first, ...rest]
  // generous: 20 nodes in one process on a loaded 2-core machine take a while to identify each other
  await waitFor(() => nodes.every((n) => n.dhtRoutingTableSize() > 0), 'every routing table holds a peer', 60_000).catch((err: Error) => {
    const empty = nodes.filter((n) => n.dhtRoutingTableSize() === 0)
    const state = empty.map((n) => `${n.peerId.toString().slice(-6)}: ${n.libp2p.getConnections().length} connections, health ${JSON.stringify(n.health())}, protocols of bootstrap peer known: ${n.libp2p.getConnections().map((c) => c.remotePeer.toString().slice(-6)).join(',')}`)
    throw new Error(`${err.message}; empty: ${state.join(' | ')}`)
  })
}, 90_000)

afterAll(async () => {
  await net.cleanup()
})

it('lets every node find every other with find-peer', async () => {
  const lookups = nodes.flatMap((from) =>
    nodes
      .filter((to) => to !== from)
      .map(async (to) => {
        const info = await from.findPeer(to.peerId, { signal: AbortSignal.timeout(20_000) })
        return { from, to, info }
      }),
  )
  const results = await Promise.all(lookups)
  expect(results).toHaveLength(SIZE * (SIZE - 1))
  for (const { to, info } of results) {
    expect(info.id.equals(to.peerId)).toBe(true)
    // the address found is one the target really listens on
    const listening = to.getMultiaddrs().map((a) => a.decapsulateCode(421).toString())
    const found = info.multiaddrs.map((a) => a.toString())
    if (!found.some((a) => listening.includes(a))) throw new Error(`found ${JSON.stringify(found)}, listening ${JSON.stringify(listening)}`)
  }
}, 60_000)

it('answers closest-peers queries from the DHT', async () => {
  const [asker] = nodes as [HyphaNode]
  const closest = await asker.closestPeers(new TextEncoder().encode('some task key'), { signal: AbortSignal.timeout(20_000) })
  expect(closest.length).toBeGreaterThan(0)
  const known = new Set(nodes.map((n) => n.peerId.toString()))
  for (const peer of closest) expect(known.has(peer.id.toString())).toBe(true)
})

it('reports health: listening, bootstrap connected, routing table non-empty', async () => {
  // polled: on a starved machine a keep-alive ping can time out and the bootstrap connection is
  // re-dialled (bootstrap peers are kept alive), so a single snapshot would be a race
  await waitFor(
    () => nodes.slice(1).every((n) => n.health().bootstrapConnected && n.health().dhtRoutingTableSize > 0),
    'every node connected to its bootstrap peer with a non-empty routing table',
    30_000,
  )
  for (const node of nodes.slice(1)) {
    expect(node.health()).toEqual(
      expect.objectContaining({ listening: true, bootstrapConnected: true, dhtRoutingTableSize: expect.any(Number) }),
    )
    expect(node.health().dhtRoutingTableSize).toBeGreaterThan(0)
  }
})
