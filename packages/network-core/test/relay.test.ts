// NAT traversal through the node factory, on loopback: a node configured as unreachable holds a
// reservation on a relay (gateway) and is dialled through /p2p-circuit by a third node, with
// request/response working over the relayed connection, and the relay's limits enforced.
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { defineProtocol } from '../src/messaging/request-response/index.js'
import { isCircuitAddress, transportOf } from '../src/connection/addresses.js'
import type { HyphaNode } from '../src/node/hypha-node.js'
import { TestNetwork, useTestNetwork, addressOf, waitFor } from '../src/testing/test-network.js'

const Echo = defineProtocol('/test/echo/1.0.0', {
  request: z.object({ text: z.string() }),
  response: z.object({ text: z.string() }),
})

const net = useTestNetwork(16)

async function relayAndWorker(relayToml: Record<string, unknown> = {}): Promise<{ relay: HyphaNode; worker: HyphaNode; bootstrap: string[] }> {
  const relay = await net().start({ role: 'gateway', transports: 'tcp', toml: { 'network.relay': relayToml } })
  const bootstrap = [addressOf(relay, 'tcp')]
  const worker = await net().start({
    role: 'worker',
    transports: 'tcp',
    bootstrap,
    // hole punching off: on loopback it would replace the relayed connections these tests measure
    // (test/hole-punch.test.ts covers the upgrade)
    toml: { 'network.nat': { reachability: 'private', reservation_check_interval: '200ms', hole_punching: false } },
  })
  await worker.rpc.handle(Echo.id, Echo, async (request) => ({ text: request.text }))
  await waitFor(() => worker.health().reservationHeld, 'the worker holds a relay reservation')
  return { relay, worker, bootstrap }
}

function circuitAddressOf(node: HyphaNode): ReturnType<typeof multiaddr> {
  const address = node.getMultiaddrs().find(isCircuitAddress)
  if (address === undefined) throw new Error('no circuit address')
  return address
}

it('reserves on the relay and is dialled through /p2p-circuit', async () => {
  const { relay, worker, bootstrap } = await relayAndWorker()
  expect(worker.health()).toEqual(expect.objectContaining({ reservationNeeded: true, reservationHeld: true, bootstrapConnected: true }))
  expect(circuitAddressOf(worker).toString()).toContain(relay.peerId.toString())

  const dialler = await net().start({ role: 'scheduler', transports: 'tcp', bootstrap })
  const connection = await dialler.dial(circuitAddressOf(worker))
  expect(transportOf(connection)).toBe('relay')
  expect(connection.limits).toBeDefined()
  // mTLS ran end to end through the relay: the remote is the worker itself
  expect(connection.remotePeer.equals(worker.peerId)).toBe(true)
  expect(connection.encryption).toBe('/hypha/mtls/1.0.0')
  const reply = await dialler.rpc.request(circuitAddressOf(worker), Echo.id, Echo, { text: 'through the relay' })
  expect(reply.text).toBe('through the relay')
})

it('enforces max_circuits on the relay', async () => {
  const { worker, bootstrap } = await relayAndWorker({ max_circuits: 1 })
  const first = await net().start({ role: 'scheduler', transports: 'tcp', bootstrap })
  const second = await net().start({ role: 'scheduler', transports: 'tcp', bootstrap })
  expect(transportOf(await first.dial(circuitAddressOf(worker)))).toBe('relay')
  await expect(second.dial(circuitAddressOf(worker))).rejects.toThrow()
})

it('cuts a relayed connection at max_circuit_bytes', async () => {
  const { worker, bootstrap } = await relayAndWorker({ max_circuit_bytes: '64KiB' })
  const dialler = await net().start({ role: 'scheduler', transports: 'tcp', bootstrap })
  const big = 'x'.repeat(24 * 1024)
  const send = async (): Promise<string> =>
    (await dialler.rpc.request(circuitAddressOf(worker), Echo.id, Echo, { text: big }, { timeoutMs: 5_000 })).text
  expect(await send()).toBe(big)
  // each round trip moves ~48 KiB through the relay: the limit is crossed by the second or third
  const outcomes: string[] = []
  for (let i = 0; i < 3; i++) outcomes.push(await send().then(() => 'ok', () => 'cut'))
  expect(outcomes).toContain('cut')
})

it('a NATed node (reachability auto, default check interval) holds its reservation soon after its relay answers', async () => {
  const relay = await net().start({ role: 'gateway', transports: 'tcp' })
  const worker = await net().start({ role: 'worker', transports: 'tcp', bootstrap: [addressOf(relay, 'tcp')] })
  await waitFor(() => worker.libp2p.getConnections(relay.peerId).length > 0, 'the worker connected to its relay')
  // the circuit transport's own discovery refuses the first listen ("had enough relays"); the
  // keeper retries in ~250 ms instead of after two 10 s checks (a 20 s wait before this fix)
  await waitFor(() => worker.health().reservationHeld, 'the worker holds a reservation', 5_000)
})

it('reserves only on a relay whose certificate is a gateway certificate, and refuses circuits through another', async () => {
  // node-0: a worker certificate on a node running a relay; node-1: a gateway certificate
  const roleNet = await TestNetwork.create(4, { roles: { 0: ['worker'], 1: ['gateway'], 2: ['worker'], 3: ['scheduler'] } })
  try {
    const fakeRelay = await roleNet.start({ role: 'gateway', transports: 'tcp' })
    const realRelay = await roleNet.start({ role: 'gateway', transports: 'tcp' })
    const worker = await roleNet.start({
      role: 'worker',
      transports: 'tcp',
      bootstrap: [addressOf(fakeRelay, 'tcp')],
      toml: { 'network.nat': { reachability: 'private', reservation_check_interval: '200ms', hole_punching: false } },
    })
    await waitFor(() => worker.libp2p.getConnections(fakeRelay.peerId).length > 0, 'the worker is connected to the non-gateway relay')
    // connected to both, first to the one that is no gateway: the reservation goes to the gateway
    await worker.dial(multiaddr(addressOf(realRelay, 'tcp')))
    await waitFor(() => worker.health().reservationHeld, 'the worker holds a relay reservation')
    const circuits = worker.getMultiaddrs().filter(isCircuitAddress).map(String)
    expect(circuits.length).toBeGreaterThan(0)
    for (const address of circuits) {
      expect(address).toContain(realRelay.peerId.toString())
      expect(address).not.toContain(fakeRelay.peerId.toString())
    }
    // a dial through the non-gateway relay is refused before it starts
    const dialler = await roleNet.start({ role: 'scheduler', transports: 'tcp', bootstrap: [addressOf(fakeRelay, 'tcp')] })
    await waitFor(() => dialler.libp2p.getConnections(fakeRelay.peerId).length > 0, 'the dialler is connected to the non-gateway relay')
    const throughFake = multiaddr(`${addressOf(fakeRelay, 'tcp')}/p2p-circuit/p2p/${worker.peerId.toString()}`)
    await expect(dialler.dial(throughFake)).rejects.toThrow()
  } finally {
    await roleNet.cleanup()
  }
})
