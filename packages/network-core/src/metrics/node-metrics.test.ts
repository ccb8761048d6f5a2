// attachNodeMetrics against fakes: events become counters and histogram samples, state gauges are
// read at scrape time, and detach removes both the listeners and the metrics.
import type { Connection } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import type { NodeIdentityEvents } from '@hypha/mtls'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { Counter, Registry } from 'prom-client'
import type { PubSubEvents } from '../messaging/pubsub/index.js'
import type { RequestResponseEvents } from '../messaging/request-response/index.js'
import { RELAY_STOP_PROTOCOL } from '../connection/addresses.js'
import { type MetricsNode, NODE_METRIC_NAMES, attachNodeMetrics } from './node-metrics.js'

const PEER = peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA')
const RELAY = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

function connection(address: string, streams: Array<{ protocol: string; direction: 'inbound' | 'outbound' }> = []): Connection {
  // Only the fields the metrics read; a full Connection is a live libp2p object.
  return { remoteAddr: multiaddr(address), streams } as unknown as Connection
}

interface Fake {
  node: MetricsNode
  registry: Registry
  pubsub: TypedEventEmitter<PubSubEvents>
  rpc: TypedEventEmitter<RequestResponseEvents>
  identity: TypedEventEmitter<NodeIdentityEvents>
  connections: Connection[]
  circuits: Multiaddr[]
  /** The relay server's reservation store, a PeerMap: its size and its peers. */
  relay: { reservations: { size: number; keys(): IterableIterator<never> } } | undefined
}

function fake(options: { relayServer?: boolean } = {}): Fake {
  const state: Omit<Fake, 'node'> = {
    registry: new Registry(),
    pubsub: new TypedEventEmitter<PubSubEvents>(),
    rpc: new TypedEventEmitter<RequestResponseEvents>(),
    identity: new TypedEventEmitter<NodeIdentityEvents>(),
    connections: [],
    circuits: [],
    relay: options.relayServer === true ? { reservations: { size: 0, keys: () => [].values() } } : undefined,
  }
  const node: MetricsNode = {
    registry: state.registry,
    libp2p: {
      getConnections: () => state.connections,
      services: {
        reservations: { circuitAddresses: () => state.circuits },
        ...(state.relay !== undefined ? { relay: state.relay } : {}),
      },
    },
    pubsub: state.pubsub,
    rpc: state.rpc,
    identity: state.identity,
    dhtRoutingTableSize: () => 7,
  }
  return Object.assign(state, { node })
}

async function valueOf(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return undefined
  const { values } = await metric.get()
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
  return match?.value
}

describe('attachNodeMetrics', () => {
  it('computes connections by transport and path at scrape time', async () => {
    const f = fake()
    attachNodeMetrics(f.node)
    f.connections.push(
      connection('/ip4/127.0.0.1/udp/1/quic-v1'),
      connection('/ip4/127.0.0.1/udp/2/quic-v1'),
      connection('/ip4/127.0.0.1/tcp/3'),
      connection(`/ip4/127.0.0.1/tcp/4/p2p/${RELAY}/p2p-circuit`),
    )
    const name = NODE_METRIC_NAMES.connections
    expect(await valueOf(f.registry, name, { transport: 'quic', path: 'direct' })).toBe(2)
    expect(await valueOf(f.registry, name, { transport: 'tcp', path: 'direct' })).toBe(1)
    expect(await valueOf(f.registry, name, { transport: 'relay', path: 'relayed' })).toBe(1)
    f.connections.splice(0)
    // series stay, at zero, when the connections go
    expect(await valueOf(f.registry, name, { transport: 'quic', path: 'direct' })).toBe(0)
    expect(await f.registry.metrics()).toContain('# HELP hypha_connections Open connections')
  })

  it('reads DHT and relay state, with relay-server gauges only on relay servers', async () => {
    const client = fake()
    attachNodeMetrics(client.node)
    client.circuits.push(
      multiaddr(`/ip4/127.0.0.1/tcp/4/p2p/${RELAY}/p2p-circuit/p2p/${PEER.toString()}`),
      multiaddr(`/ip4/127.0.0.1/udp/4/quic-v1/p2p/${RELAY}/p2p-circuit/p2p/${PEER.toString()}`),
    )
    expect(await valueOf(client.registry, NODE_METRIC_NAMES.dhtRoutingTablePeers)).toBe(7)
    expect(await valueOf(client.registry, NODE_METRIC_NAMES.relayReservationsHeld)).toBe(1) // one relay, two addresses
    expect(client.registry.getSingleMetric(NODE_METRIC_NAMES.relayReservationsStored)).toBeUndefined()

    const server = fake({ relayServer: true })
    attachNodeMetrics(server.node)
    if (server.relay !== undefined) server.relay.reservations.size = 3
    server.connections.push(
      connection('/ip4/127.0.0.1/tcp/5', [{ protocol: RELAY_STOP_PROTOCOL, direction: 'outbound' }, { protocol: '/ipfs/id/1.0.0', direction: 'inbound' }]),
    )
    expect(await valueOf(server.registry, NODE_METRIC_NAMES.relayReservationsStored)).toBe(3)
    expect(await valueOf(server.registry, NODE_METRIC_NAMES.relayActiveCircuits)).toBe(1)
  })

  it('counts gossip events, request durations and refusals', async () => {
    const f = fake()
    attachNodeMetrics(f.node)
    f.pubsub.safeDispatchEvent('message:published', { detail: { topic: 't', recipients: 2 } })
    f.pubsub.safeDispatchEvent('message:received', { detail: { topic: 't', from: PEER } })
    f.pubsub.safeDispatchEvent('message:received', { detail: { topic: 't', from: PEER } })
    f.pubsub.safeDispatchEvent('message:invalid', { detail: { topic: 't', from: PEER, reason: 'schema' } })
    f.pubsub.safeDispatchEvent('message:dropped', { detail: { topic: 'u', from: PEER, reason: 'handler-backlog' } })
    const messages = NODE_METRIC_NAMES.pubsubMessages
    expect(await valueOf(f.registry, messages, { topic: 't', event: 'published' })).toBe(1)
    expect(await valueOf(f.registry, messages, { topic: 't', event: 'received' })).toBe(2)
    expect(await valueOf(f.registry, messages, { topic: 't', event: 'invalid' })).toBe(1)
    expect(await valueOf(f.registry, messages, { topic: 'u', event: 'dropped' })).toBe(1)

    f.rpc.safeDispatchEvent('request:complete', { detail: { protocol: '/p/1', side: 'client', outcome: 'ok', durationMs: 0.7, peer: PEER } })
    f.rpc.safeDispatchEvent('request:complete', { detail: { protocol: '/p/1', side: 'client', outcome: 'ok', durationMs: 40, peer: PEER } })
    const text = await f.registry.metrics()
    expect(text).toContain('hypha_request_duration_seconds_count{protocol="/p/1",side="client",outcome="ok"} 2')
    expect(text).toContain('hypha_request_duration_seconds_bucket{le="0.001",protocol="/p/1",side="client",outcome="ok"} 1')
    expect(text).toContain('hypha_request_duration_seconds_bucket{le="0.05",protocol="/p/1",side="client",outcome="ok"} 2')
    expect(text).toContain('hypha_request_duration_seconds_sum{protocol="/p/1",side="client",outcome="ok"} 0.0407')

    f.identity.safeDispatchEvent('peer:refused', { detail: { reason: 'untrusted', detail: 'x', via: 'tls', by: 'local' } })
    expect(await valueOf(f.registry, NODE_METRIC_NAMES.peersRefused, { reason: 'untrusted', via: 'tls', by: 'local' })).toBe(1)
  })

  it('derives per-direction byte totals from libp2p stream counters, skipping the global series', async () => {
    const f = fake()
    const libp2pBytes = new Counter({ name: 'libp2p_data_transfer_bytes_total', help: 'h', labelNames: ['protocol'], registers: [f.registry] })
    attachNodeMetrics(f.node)
    expect(await valueOf(f.registry, NODE_METRIC_NAMES.bytes, { direction: 'in' })).toBe(0)
    libp2pBytes.inc({ protocol: '/ipfs/id/1.0.0 sent' }, 100)
    libp2pBytes.inc({ protocol: '/ipfs/id/1.0.0 received' }, 50)
    libp2pBytes.inc({ protocol: '/meshsub/1.2.0 received' }, 5)
    libp2pBytes.inc({ protocol: 'global sent' }, 1_000)
    libp2pBytes.inc({ protocol: '/libp2p/circuit/relay/0.2.0/hop sent' }, 1_000) // not a relay server: inner streams counted
    expect(await valueOf(f.registry, NODE_METRIC_NAMES.bytes, { direction: 'out' })).toBe(100)
    expect(await valueOf(f.registry, NODE_METRIC_NAMES.bytes, { direction: 'in' })).toBe(55)
    libp2pBytes.inc({ protocol: '/ipfs/id/1.0.0 sent' }, 1)
    expect(await valueOf(f.registry, NODE_METRIC_NAMES.bytes, { direction: 'out' })).toBe(101)
    // the circuit streams are what crossed a relay
    libp2pBytes.inc({ protocol: '/libp2p/circuit/relay/0.2.0/stop received' }, 300)
    expect(await valueOf(f.registry, NODE_METRIC_NAMES.relayedBytes, { direction: 'out' })).toBe(1_000)
    expect(await valueOf(f.registry, NODE_METRIC_NAMES.relayedBytes, { direction: 'in' })).toBe(300)
  })

  it('detach removes listeners and metrics, and a second attach works', async () => {
    const f = fake()
    const detach = attachNodeMetrics(f.node)
    expect(() => attachNodeMetrics(f.node)).toThrow(/already been registered/)
    expect(f.pubsub.listenerCount('message:received')).toBe(1)
    expect(f.rpc.listenerCount('request:complete')).toBe(1)
    expect(f.identity.listenerCount('peer:refused')).toBe(1)
    detach()
    detach()
    expect(f.pubsub.listenerCount('message:received')).toBe(0)
    expect(f.rpc.listenerCount('request:complete')).toBe(0)
    expect(f.identity.listenerCount('peer:refused')).toBe(0)
    expect(f.registry.getMetricsAsArray().filter((m) => m.name.startsWith('hypha_'))).toEqual([])
    attachNodeMetrics(f.node)()
  })

  it('counts nothing from an absent identity (open mode)', async () => {
    const f = fake()
    attachNodeMetrics({ ...f.node, identity: undefined })
    expect(await f.registry.metrics()).toContain('# TYPE hypha_peers_refused_total counter')
  })
})
