// Bootstrap peers are kept: a node whose connection to its bootstrap peer (the gateway) drops,
// or whose first dial failed because the gateway was not up yet, dials it again by itself
// instead of staying alone until restarted.
import { TestNetwork, addressOf, freePort, waitFor } from '../src/testing/test-network.js'

let net: TestNetwork

beforeAll(async () => {
  net = await TestNetwork.create(4)
})
afterAll(async () => {
  await net.cleanup()
})

it('reconnects to a bootstrap peer after the connection drops', async () => {
  const gateway = await net.start({ role: 'gateway', transports: 'tcp' })
  const node = await net.start({
    role: 'scheduler',
    transports: 'tcp',
    bootstrap: [addressOf(gateway, 'tcp')],
    toml: { 'network.nat': { reachability: 'public' } },
  })
  await waitFor(() => node.health().bootstrapConnected, 'the first connection to the bootstrap peer')
  const first = node.libp2p.getConnections(gateway.peerId)[0]
  // the gateway hangs up (as a restart or a failed keep-alive ping would end the connection)
  await gateway.libp2p.hangUp(node.peerId)
  await waitFor(() => !node.libp2p.getConnections(gateway.peerId).some((c) => c.id === first?.id), 'the first connection to close')
  await waitFor(() => node.health().bootstrapConnected, 'the node to dial its bootstrap peer again', 15_000)
  expect(node.libp2p.getConnections(gateway.peerId).some((c) => c.id !== first?.id)).toBe(true)
})

it('connects to a bootstrap peer that comes up after the node started', async () => {
  const port = await freePort()
  const gateway = await net.start({ role: 'gateway', transports: 'tcp', listen: [`/ip4/127.0.0.1/tcp/${port}`] })
  const address = addressOf(gateway, 'tcp')
  await gateway.libp2p.stop()
  const node = await net.start({ role: 'scheduler', transports: 'tcp', bootstrap: [address], toml: { 'network.nat': { reachability: 'public' } } })
  // the first dial (by @libp2p/bootstrap) finds nobody listening
  await waitFor(async () => (await node.libp2p.peerStore.has(gateway.peerId)) && !node.health().bootstrapConnected, 'the first dial to fail')
  await gateway.libp2p.start()
  await waitFor(() => node.health().bootstrapConnected, 'the node to reach its bootstrap peer once it is up', 15_000)
})
