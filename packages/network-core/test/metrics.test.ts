// hypha_* metrics on real mTLS nodes on loopback: connection gauges, request latency, gossip
// counters, byte totals, a refused peer of another organisation, and relay gauges.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeIdentity, writeDevPki } from '@hypha/mtls'
import { multiaddr } from '@multiformats/multiaddr'
import type { Registry } from 'prom-client'
import { z } from 'zod'
import { networkConfigSchema, parseConfig } from '../src/config/index.js'
import { defineProtocol } from '../src/messaging/request-response/index.js'
import { NODE_METRIC_NAMES } from '../src/metrics/node-metrics.js'
import { createNode } from '../src/node/create-node.js'
import { isCircuitAddress } from '../src/connection/addresses.js'
import { useTestNetwork, addressOf, waitFor } from '../src/testing/test-network.js'

const Echo = defineProtocol('/hypha-test/metrics-echo/1.0.0', {
  request: z.object({ text: z.string() }),
  response: z.object({ text: z.string() }),
})
const TOPIC = 'hypha/test/metrics'
const Note = z.object({ n: z.number() })

const net = useTestNetwork(8)

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) throw new Error(`${name} is not registered`)
  const { values } = await metric.get()
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0
}

it('measures connections, a request round trip, gossip and bytes between two nodes', async () => {
  const a = await net().start({ transports: 'quic' })
  const b = await net().start({ transports: 'quic' })
  await a.dial(multiaddr(addressOf(b, 'quic')))
  await waitFor(() => b.libp2p.getConnections(a.peerId).length > 0, 'b sees the connection')
  // a QUIC connection counts once admission admitted it, on each side
  await waitFor(() => a.connectedPeers().length === 1 && b.connectedPeers().length === 1, 'both sides to admit the connection')

  const connections = NODE_METRIC_NAMES.connections
  expect(await value(a.registry, connections, { transport: 'quic', path: 'direct' })).toBe(1)
  expect(await value(b.registry, connections, { transport: 'quic', path: 'direct' })).toBe(1)
  expect(await value(a.registry, connections, { transport: 'tcp', path: 'direct' })).toBe(0)
  expect(await a.registry.metrics()).toMatch(/^hypha_connections\{transport="quic",path="direct"\} 1$/m)

  // request/response: one exchange, one sample per side
  await b.rpc.handle(Echo.id, Echo, (request) => ({ text: request.text }))
  expect(await a.rpc.request(b.peerId, Echo.id, Echo, { text: 'hi' })).toEqual({ text: 'hi' })
  const client = await a.registry.metrics()
  expect(client).toContain(`hypha_request_duration_seconds_count{protocol="${Echo.id}",side="client",outcome="ok"} 1`)
  await waitFor(
    async () => (await b.registry.metrics()).includes(`hypha_request_duration_seconds_count{protocol="${Echo.id}",side="server",outcome="ok"} 1`),
    'the server records its side',
  )

  // gossip: both subscribe; publish once a knows b joined, so the message goes straight to it
  const received: number[] = []
  b.pubsub.topic(TOPIC, Note).subscribe((note) => { received.push(note.n) })
  const topicA = a.pubsub.topic(TOPIC, Note)
  topicA.subscribe(() => undefined)
  await waitFor(
    () => a.libp2p.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(b.peerId)),
    'a learns that b subscribed',
  )
  await topicA.publish({ n: 1 })
  await waitFor(() => received.length === 1, 'b receives the message')
  const messages = NODE_METRIC_NAMES.pubsubMessages
  expect(await value(a.registry, messages, { topic: TOPIC, event: 'published' })).toBe(1)
  expect(await value(b.registry, messages, { topic: TOPIC, event: 'received' })).toBe(1)
  expect(await value(b.registry, messages, { topic: TOPIC, event: 'invalid' })).toBe(0)

  // bytes over QUIC, which libp2p's "global" series does not see
  expect(await value(a.registry, NODE_METRIC_NAMES.bytes, { direction: 'out' })).toBeGreaterThan(0)
  expect(await value(a.registry, NODE_METRIC_NAMES.bytes, { direction: 'in' })).toBeGreaterThan(0)
  expect(await value(a.registry, NODE_METRIC_NAMES.dhtRoutingTablePeers)).toBeGreaterThanOrEqual(0)
})

it.each(['tcp', 'quic'] as const)('counts a peer of another organisation refused over %s', async (transport) => {
  const a = await net().start({ transports: transport })
  const dir = await mkdtemp(join(tmpdir(), 'hypha-metrics-other-ca-'))
  const other = await writeDevPki({ dir, organisation: 'intruders', nodes: ['mallory'] })
  const files = other.nodes.mallory
  if (files === undefined) throw new Error('no certificate for mallory')
  const identity = await NodeIdentity.load(files, { log: { info(): void {}, warn(): void {} } })
  const config = parseConfig(
    [
      '[network]',
      `listen_addresses = ${JSON.stringify([transport === 'tcp' ? '/ip4/127.0.0.1/tcp/0' : '/ip4/127.0.0.1/udp/0/quic-v1'])}`,
      '[network.transport]',
      'dial_timeout = "3s"',
      '[security]',
      `mode = "mtls"\ncert = ${JSON.stringify(files.cert)}\nkey = ${JSON.stringify(files.key)}`,
      `trust = ${JSON.stringify(files.trust)}\ncrl = ${JSON.stringify(files.crl)}`,
      '[metrics]',
      'enabled = true',
    ].join('\n'),
    {},
    networkConfigSchema,
    'mallory.toml',
  )
  const mallory = await createNode(config, identity, 'scheduler', { inboundConnectionThreshold: 10_000 })
  try {
    await mallory.dial(multiaddr(addressOf(a, transport))).then(
      // QUIC connects before admission refuses; the refusal closes it
      () => undefined,
      () => undefined,
    )
    const refused = async (): Promise<number> => {
      const { values } = await (a.registry.getSingleMetric(NODE_METRIC_NAMES.peersRefused)?.get() ?? { values: [] })
      return values.filter((v) => v.labels.by === 'local' && v.labels.reason === 'untrusted').reduce((sum, v) => sum + v.value, 0)
    }
    await waitFor(async () => (await refused()) >= 1, 'a counts the refusal')
    const text = await a.registry.metrics()
    expect(text).toMatch(new RegExp(`^hypha_peers_refused_total\\{reason="untrusted",via="${transport === 'tcp' ? 'tls' : 'admission'}",by="local"\\} \\d+$`, 'm'))
  } finally {
    await mallory.stop()
    identity.close()
    await rm(dir, { recursive: true, force: true })
  }
})

// Skipped for now: with the current relay/reservation code a private worker bootstrapping off a
// gateway blocks the event loop right after start (also with metrics disabled, and in
// test/relay.test.ts), so this test would hang the suite. The relay gauges are unit-tested with
// fakes in src/metrics/node-metrics.test.ts; re-enable this once test/relay.test.ts passes.
it('reports relay reservations and circuits on the relay, its client and a relayed dialler', async () => {
  const relay = await net().start({ role: 'gateway', transports: 'tcp' })
  const bootstrap = [addressOf(relay, 'tcp')]
  const worker = await net().start({
    role: 'worker',
    transports: 'tcp',
    bootstrap,
    // hole punching off: on loopback it would replace the relayed connection measured below
    toml: { 'network.nat': { reachability: 'private', reservation_check_interval: '200ms', hole_punching: false } },
  })
  await waitFor(() => worker.health().reservationHeld, 'the worker holds a relay reservation')
  expect(await value(worker.registry, NODE_METRIC_NAMES.relayReservationsHeld)).toBe(1)
  expect(worker.registry.getSingleMetric(NODE_METRIC_NAMES.relayReservationsStored)).toBeUndefined()
  expect(await value(relay.registry, NODE_METRIC_NAMES.relayReservationsStored)).toBe(1)
  expect(await value(relay.registry, NODE_METRIC_NAMES.relayActiveCircuits)).toBe(0)

  const dialler = await net().start({ role: 'scheduler', transports: 'tcp', bootstrap })
  const circuit = worker.getMultiaddrs().find(isCircuitAddress)
  if (circuit === undefined) throw new Error('no circuit address')
  await dialler.dial(circuit)
  expect(await value(dialler.registry, NODE_METRIC_NAMES.connections, { transport: 'relay', path: 'relayed' })).toBe(1)
  expect(await value(relay.registry, NODE_METRIC_NAMES.relayActiveCircuits)).toBe(1)
})

it('detaches when the node stops', async () => {
  const a = await net().start({ transports: 'tcp' })
  // the metrics and the refusal memory listen while the node runs; nothing is left after it stops
  expect(a.identity?.listenerCount('peer:refused')).toBe(2)
  await a.stop()
  expect(a.identity?.listenerCount('peer:refused')).toBe(0)
  expect(a.registry.getSingleMetric(NODE_METRIC_NAMES.connections)).toBeUndefined()
})
