// A node whose certificate the network refuses (another CA here; an expired one behaves alike)
// must cost the refusing node almost nothing: the refused node backs off per peer (exponential,
// jittered) instead of redialling at once, and says why on its health report; the refusing node
// drops repeat attempts from a peer it refused at the gater, before admission work.
import { multiaddr } from '@multiformats/multiaddr'
import { TestNetwork, addressOf, useTestNetwork, waitFor } from '../src/testing/test-network.js'
import type { HyphaNode } from '../src/node/hypha-node.js'

const net = useTestNetwork(4)
let foreignNet: TestNetwork
beforeAll(async () => {
  foreignNet = await TestNetwork.create(4)
})
afterEach(async () => {
  await foreignNet.stopAll()
})
afterAll(async () => {
  await foreignNet.cleanup()
})

/** Sum of a counter's series whose labels include all of `labels`. */
async function counter(node: HyphaNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = node.registry.getSingleMetric(name)
  if (metric === undefined) return 0
  const { values } = await metric.get()
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0)
}

describe.each<'tcp' | 'quic'>(['tcp', 'quic'])('a foreign node against a gateway over %s', (transports) => {
  it('backs off, so few attempts reach the gateway, and names the refusal in its health', async () => {
    const gateway = await net().start({ role: 'gateway', transports })
    const foreign = await foreignNet.start({
      role: 'worker',
      transports,
      bootstrap: [addressOf(gateway, transports)],
      toml: { security: { refusal_backoff: '200ms', refusal_backoff_max: '800ms' } },
    })
    await waitFor(() => foreign.health().refusals.length > 0, 'the foreign node to record its refusal')
    // another CA: each side refuses the other's certificate
    expect(foreign.health().refusals[0]).toMatchObject({ peerId: gateway.peerId.toString(), reason: 'untrusted', bootstrap: true })
    const before = await counter(gateway, 'hypha_peers_refused_total', { by: 'local' })
    // an upper bound on a rate needs a window: nothing to wait for, so it is a fixed one
    await new Promise((resolve) => setTimeout(resolve, 4_000))
    const refusals = (await counter(gateway, 'hypha_peers_refused_total', { by: 'local' })) - before
    // with back-off (<= 0.8 s +20% between attempts) at most ~7 attempts in 4 s; without, hundreds
    expect(refusals).toBeLessThanOrEqual(8)
    // (dials the back-off holds back are counted in hypha_refused_attempts_dropped_total{at="dial"};
    // over TCP the bootstrap keeper's own back-off may leave none to hold back in so short a window)
    expect(await counter(foreign, 'hypha_refusal_backoff_peers')).toBeLessThanOrEqual(1)
    // never listed as a connected peer once refused
    expect(gateway.connectedPeers().map((p) => p.id)).not.toContain(foreign.peerId.toString())
  }, 30_000)
})

it('a QUIC peer still in admission is nobody\'s connected peer, and a refused one leaves no peer-store entry', async () => {
  const gateway = await net().start({ role: 'gateway', transports: 'quic' })
  // an open-mode node speaks QUIC but never the admission protocol: it stays unadmitted until the
  // gateway's admission timeout closes it
  const stranger = await foreignNet.start({ role: 'worker', transports: 'quic', toml: { security: { mode: 'open' } } })
  const dialled = stranger.dial(multiaddr(addressOf(gateway, 'quic'))).catch(() => undefined)
  await waitFor(() => gateway.libp2p.getConnections(stranger.peerId).length > 0, 'the QUIC connection to open on the gateway')
  expect(gateway.connectedPeers().map((p) => p.id)).not.toContain(stranger.peerId.toString())
  expect(gateway.health().bootstrapConnected).toBe(true)
  expect(await counter(gateway, 'hypha_connections', { transport: 'quic' })).toBe(0)
  await dialled
  // a certificate refusal: a foreign-CA node over QUIC is refused in admission and forgotten
  const foreign = await foreignNet.start({ role: 'worker', transports: 'quic' })
  await foreign.dial(multiaddr(addressOf(gateway, 'quic'))).catch(() => undefined)
  await waitFor(async () => (await counter(gateway, 'hypha_peers_refused_total', { by: 'local', via: 'admission' })) > 0, 'the gateway to refuse the foreign node')
  await waitFor(async () => !(await gateway.libp2p.peerStore.has(foreign.peerId)), 'the refused peer to leave the peer store')
  expect(gateway.connectedPeers()).toEqual([])
})
