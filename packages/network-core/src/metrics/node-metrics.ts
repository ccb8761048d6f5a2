// Hypha's own node metrics (prefix hypha_) in the node's prom-client registry, beside what
// @libp2p/prometheus-metrics exports there. State is read at scrape time; only events are counted.
import type { Connection, TypedEventTarget } from '@libp2p/interface'
import type { NodeIdentityEvents, PeerRefusal, RefusalMemory } from '@hypha/mtls'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { PubSubEvents } from '../messaging/pubsub/index.js'
import { HOLE_PUNCH_OUTCOMES, type HolePunchEvents, type HolePunchResult } from '../nat/hole-punch/index.js'
import type { RequestCompleteDetail, RequestResponseEvents } from '../messaging/request-response/index.js'
import { RELAY_HOP_PROTOCOL, RELAY_STOP_PROTOCOL, relayOfAddress, transportOf } from '../connection/addresses.js'
import { countActiveCircuits } from '../nat/circuit-limit.js'
import { relayServerState } from '../nat/relay-server-state.js'

/** Every metric this module registers, for dashboards, alerts and tests. */
export const NODE_METRIC_NAMES = {
  connections: 'hypha_connections',
  bytes: 'hypha_bytes_total',
  relayedBytes: 'hypha_relayed_bytes_total',
  dhtRoutingTablePeers: 'hypha_dht_routing_table_peers',
  relayReservationsHeld: 'hypha_relay_reservations_held',
  relayReservationsStored: 'hypha_relay_server_reservations',
  relayActiveCircuits: 'hypha_relay_server_active_circuits',
  relayMaxCircuits: 'hypha_relay_server_max_circuits',
  relayMaxReservations: 'hypha_relay_server_max_reservations',
  pubsubMessages: 'hypha_pubsub_messages_total',
  requestDuration: 'hypha_request_duration_seconds',
  peersRefused: 'hypha_peers_refused_total',
  refusalBackoffPeers: 'hypha_refusal_backoff_peers',
  refusalDrops: 'hypha_refused_attempts_dropped_total',
  holePunches: 'hypha_holepunch_total',
  holePunchDuration: 'hypha_holepunch_duration_seconds',
} as const

/** Request/response latency buckets (seconds): 0.5 ms (an open loopback stream) to 30 s (a timeout). */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

/** libp2p's per-stream byte counter (label `protocol` = "<protocol> sent|received", or "global ..."). */
const LIBP2P_TRANSFER_METRIC = 'libp2p_data_transfer_bytes_total'

/**
 * What attachNodeMetrics reads from a node; HyphaNode fits it. Narrow so unit tests can hand in
 * plain event emitters and a few fake connections.
 */
export interface MetricsNode {
  readonly registry: Registry
  readonly libp2p: {
    getConnections(): Connection[]
    readonly services: {
      readonly reservations: { circuitAddresses(): Multiaddr[] }
      /** The circuit relay server, on relay servers only (checked at runtime). */
      readonly relay?: unknown
      /** mTLS refusal memory (mTLS mode; absent in narrow test fakes). */
      readonly mtlsRefusals?: Pick<RefusalMemory, 'dialBackoff' | 'refusedBy' | 'droppedCounts'>
      /** DCUtR hole punching (absent in narrow test fakes). */
      readonly holePunch?: TypedEventTarget<HolePunchEvents>
    }
  }
  readonly pubsub: TypedEventTarget<PubSubEvents>
  readonly rpc: TypedEventTarget<RequestResponseEvents>
  /** Undefined in open (non-mTLS) mode: no refusals to count. */
  readonly identity: TypedEventTarget<NodeIdentityEvents> | undefined
  dhtRoutingTableSize(): number
  /** The relay server's configured limits (network.relay), for alerting on how close it runs to them. */
  readonly config?: { network: { relay: { maxCircuits: number; reservations: number } } }
  /** Connections of admitted peers only (HyphaNode); without it every open connection counts. */
  admittedConnections?(): Connection[]
}

type Path = 'direct' | 'relayed'
const KNOWN_CONNECTION_SERIES: ReadonlyArray<{ transport: string; path: Path }> = [
  { transport: 'quic', path: 'direct' },
  { transport: 'tcp', path: 'direct' },
  { transport: 'relay', path: 'relayed' },
]

/**
 * Registers the hypha_* metrics of `node` in `node.registry` and subscribes to the node's events.
 * Returns a detach function (idempotent) that removes the listeners and unregisters the metrics,
 * so a NodeIdentity that outlives the node holds no reference to it and a later attach works.
 * Throws if the registry already holds a metric of the same name (attached twice).
 */
export function attachNodeMetrics(node: MetricsNode): () => void {
  const { registry } = node
  const registered: string[] = []
  const cleanups: Array<() => void> = []
  let detached = false
  const detach = (): void => {
    if (detached) return
    detached = true
    for (const cleanup of cleanups) cleanup()
    for (const name of registered) registry.removeSingleMetric(name)
  }
  try {
    register(node, registered, cleanups)
  } catch (err) {
    // e.g. a name already registered: leave the registry and the emitters as they were
    detach()
    throw err
  }
  return detach
}

function register(node: MetricsNode, registered: string[], cleanups: Array<() => void>): void {
  const { registry } = node
  const registers = [registry]

  const connections = new Gauge({
    name: NODE_METRIC_NAMES.connections,
    help: 'Open connections of admitted peers by transport (quic, tcp, relay, other) and path (direct, or relayed through a circuit relay).',
    labelNames: ['transport', 'path'] as const,
    registers,
    collect() {
      this.reset()
      for (const series of KNOWN_CONNECTION_SERIES) this.set(series, 0)
      for (const connection of node.admittedConnections?.() ?? node.libp2p.getConnections()) {
        const transport = transportOf(connection)
        this.inc({ transport, path: transport === 'relay' ? 'relayed' : 'direct' })
      }
    },
  })
  registered.push(NODE_METRIC_NAMES.connections)

  const relayServer = relayServerState(node.libp2p.services.relay)
  // Both counters follow libp2p's per-protocol stream counter, read at scrape time.
  const followed = (name: string, help: string, pick: (totals: StreamByteTotals) => { sent: number; received: number }): void => {
    let lastIn = 0
    let lastOut = 0
    const counter: Counter<'direction'> = new Counter({
      name,
      help,
      labelNames: ['direction'] as const,
      registers,
      async collect() {
        const totals = await streamByteTotals(registry, relayServer !== undefined)
        if (totals === undefined) return
        const { sent, received } = pick(totals)
        // The source is a counter, so totals only grow; a drop means it was reset: start over from it.
        counter.inc({ direction: 'in' }, received >= lastIn ? received - lastIn : received)
        counter.inc({ direction: 'out' }, sent >= lastOut ? sent - lastOut : sent)
        lastIn = received
        lastOut = sent
      },
    })
    counter.inc({ direction: 'in' }, 0)
    counter.inc({ direction: 'out' }, 0)
    registered.push(name)
  }
  followed(
    NODE_METRIC_NAMES.bytes,
    'Bytes received (in) and sent (out) on protocol streams over every transport, QUIC included; excludes ' +
      'transport, security and muxer overhead. Derived at scrape time from libp2p_data_transfer_bytes_total ' +
      '(per protocol); its "global sent|received" series are not used: they count relayed connections, and TCP ' +
      'connections only until TLS takes their socket over.',
    (t) => t,
  )
  followed(
    NODE_METRIC_NAMES.relayedBytes,
    'Bytes that crossed a circuit relay (the relay protocol streams carrying relayed connections, their TLS and ' +
      'yamux overhead included): on a relay server what it relayed for others, elsewhere its own relayed traffic. ' +
      'Direct traffic is about hypha_bytes_total minus this.',
    (t) => t.relayed,
  )

  // A gauge whose single value is read from the node at scrape time.
  const stateGauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers, collect() { this.set(read()) } })
    registered.push(name)
  }
  stateGauge(NODE_METRIC_NAMES.dhtRoutingTablePeers, 'Peers in the Kademlia DHT routing table.', () => node.dhtRoutingTableSize())
  stateGauge(
    NODE_METRIC_NAMES.relayReservationsHeld,
    'Relays this node holds a reservation on (distinct relays among its circuit addresses); 0 when it needs none or lost them.',
    () => distinctRelays(node.libp2p.services.reservations.circuitAddresses()),
  )
  if (relayServer !== undefined) {
    stateGauge(
      NODE_METRIC_NAMES.relayReservationsStored,
      'Reservations this relay server currently stores for other peers (relay servers only).',
      () => relayServer.reservations.size,
    )
    stateGauge(
      NODE_METRIC_NAMES.relayActiveCircuits,
      'Circuits this relay server is relaying now (relay servers only; capped by network.relay.max_circuits).',
      () => countActiveCircuits(node.libp2p.getConnections()),
    )
    const limits = node.config?.network.relay
    if (limits !== undefined) {
      stateGauge(NODE_METRIC_NAMES.relayMaxCircuits, 'The relay server\'s network.relay.max_circuits (relay servers only).', () => limits.maxCircuits)
      stateGauge(NODE_METRIC_NAMES.relayMaxReservations, 'The relay server\'s network.relay.reservations (relay servers only).', () => limits.reservations)
    }
  }

  const messages = new Counter({
    name: NODE_METRIC_NAMES.pubsubMessages,
    help:
      'GossipSub messages by topic and event: received (valid, delivered), published (by this node), ' +
      'invalid (failed validation, not forwarded) or dropped (a handler backlog was full).',
    labelNames: ['topic', 'event'] as const,
    registers,
  })
  registered.push(NODE_METRIC_NAMES.pubsubMessages)
  const onEvent = (event: 'received' | 'published' | 'invalid' | 'dropped') => (evt: CustomEvent<{ topic: string }>): void => {
    messages.inc({ topic: evt.detail.topic, event })
  }
  const onReceived = onEvent('received')
  const onPublished = onEvent('published')
  const onInvalid = onEvent('invalid')
  const onDropped = onEvent('dropped')
  const { pubsub } = node
  pubsub.addEventListener('message:received', onReceived)
  pubsub.addEventListener('message:published', onPublished)
  pubsub.addEventListener('message:invalid', onInvalid)
  pubsub.addEventListener('message:dropped', onDropped)
  cleanups.push(() => {
    pubsub.removeEventListener('message:received', onReceived)
    pubsub.removeEventListener('message:published', onPublished)
    pubsub.removeEventListener('message:invalid', onInvalid)
    pubsub.removeEventListener('message:dropped', onDropped)
  })

  const requestDuration = new Histogram({
    name: NODE_METRIC_NAMES.requestDuration,
    help:
      'Request/response exchanges by protocol, side (client: whole request incl. dial; server: stream open to ' +
      'response written) and outcome (ok, timeout, busy, too-large, invalid, handler-error, error), in seconds.',
    labelNames: ['protocol', 'side', 'outcome'] as const,
    buckets: [...REQUEST_DURATION_BUCKETS],
    registers,
  })
  registered.push(NODE_METRIC_NAMES.requestDuration)
  const onRequestComplete = (evt: CustomEvent<RequestCompleteDetail>): void => {
    const { protocol, side, outcome, durationMs } = evt.detail
    requestDuration.observe({ protocol, side, outcome }, durationMs / 1000)
  }
  const { rpc } = node
  rpc.addEventListener('request:complete', onRequestComplete)
  cleanups.push(() => rpc.removeEventListener('request:complete', onRequestComplete))

  const refused = new Counter({
    name: NODE_METRIC_NAMES.peersRefused,
    help:
      'mTLS refusals by reason (untrusted, expired, revoked, ...), stage (via: tls, admission, recheck) and ' +
      'who refused (by: local = this node refused a peer, remote = a peer refused this node).',
    labelNames: ['reason', 'via', 'by'] as const,
    registers,
  })
  registered.push(NODE_METRIC_NAMES.peersRefused)
  const { identity } = node
  if (identity !== undefined) {
    const onRefused = (evt: CustomEvent<PeerRefusal>): void => {
      refused.inc({ reason: evt.detail.reason, via: evt.detail.via, by: evt.detail.by })
    }
    identity.addEventListener('peer:refused', onRefused)
    cleanups.push(() => identity.removeEventListener('peer:refused', onRefused))
  }

  const refusals = node.libp2p.services.mtlsRefusals
  if (refusals !== undefined) {
    stateGauge(NODE_METRIC_NAMES.refusalBackoffPeers, 'Peers that refused this node and are not dialled before their back-off ends.', () =>
      refusals.refusedBy().filter((r) => r.retryAt > Date.now()).length,
    )
    let last = { dial: 0, 'inbound-address': 0, 'inbound-peer': 0 }
    const drops: Counter<'at'> = new Counter({
      name: NODE_METRIC_NAMES.refusalDrops,
      help:
        'Attempts dropped by the connection gater because of a recent refusal: at="dial" (a peer that refused us, in ' +
        'back-off), "inbound-address" (before the TLS handshake), "inbound-peer" (a peer we refused, after the handshake).',
      labelNames: ['at'] as const,
      registers,
      collect() {
        const now = refusals.droppedCounts()
        for (const at of ['dial', 'inbound-address', 'inbound-peer'] as const) drops.inc({ at }, now[at] - last[at])
        last = { ...now }
      },
    })
    registered.push(NODE_METRIC_NAMES.refusalDrops)
  }

  const holePunches = new Counter({
    name: NODE_METRIC_NAMES.holePunches,
    help:
      'Upgrades of relayed connections (DCUtR) by outcome (direct, unilateral, no-addresses, failed, backoff, error) ' +
      'and role (responder: started the upgrade, one count per upgrade; initiator: dialled through the relay, one per attempt it answered).',
    labelNames: ['outcome', 'role'] as const,
    registers,
  })
  registered.push(NODE_METRIC_NAMES.holePunches)
  // every series from zero, so rate() and alerts see the first punch
  for (const outcome of HOLE_PUNCH_OUTCOMES) for (const role of ['initiator', 'responder'] as const) holePunches.inc({ outcome, role }, 0)
  const holePunchDuration = new Histogram({
    name: NODE_METRIC_NAMES.holePunchDuration,
    help: 'Time from a relayed connection to the end of its upgrade, by outcome, in seconds.',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
    registers,
  })
  registered.push(NODE_METRIC_NAMES.holePunchDuration)
  const { holePunch } = node.libp2p.services
  if (holePunch !== undefined) {
    const onResult = (evt: CustomEvent<HolePunchResult>): void => {
      holePunches.inc({ outcome: evt.detail.outcome, role: evt.detail.role })
      holePunchDuration.observe({ outcome: evt.detail.outcome }, evt.detail.durationMs / 1000)
    }
    holePunch.addEventListener('hole-punch:result', onResult)
    cleanups.push(() => holePunch.removeEventListener('hole-punch:result', onResult))
  }

}

/** Distinct relays among circuit addresses (an address whose relay is unnamed counts on its own). */
function distinctRelays(circuits: readonly Multiaddr[]): number {
  return new Set(circuits.map((address) => relayOfAddress(address) ?? address.toString())).size
}

interface StreamByteTotals {
  sent: number
  received: number
  /** Bytes on circuit relay protocol streams (hop, stop). */
  relayed: { sent: number; received: number }

/**
 * Sums libp2p's per-protocol stream byte counter by direction, skipping its "global" series (raw
 * connection bytes of relayed connections, and of TCP connections only up to the TLS handshake:
 * after it node:tls owns the socket, see @hypha/mtls socket-takeover.ts). On a node that is not a relay server, the
 * circuit protocols' streams carry relayed connections whose inner streams are counted already.
 */
}

async function streamByteTotals(registry: Registry, relayServer: boolean): Promise<StreamByteTotals | undefined> {
  const source = registry.getSingleMetric(LIBP2P_TRANSFER_METRIC)
  if (source === undefined) return undefined
  const { values } = await source.get()
  const totals: StreamByteTotals = { sent: 0, received: 0, relayed: { sent: 0, received: 0 } }
  for (const { labels, value } of values) {
    const label = labels.protocol
    if (typeof label !== 'string') continue
    const split = label.lastIndexOf(' ')
    const protocol = label.slice(0, split)
    if (protocol === 'global') continue
    const direction = label.slice(split + 1)
    if (direction !== 'sent' && direction !== 'received') continue
    const circuit = protocol === RELAY_HOP_PROTOCOL || protocol === RELAY_STOP_PROTOCOL
    if (circuit) totals.relayed[direction] += value
    if (!relayServer && circuit) continue
    totals[direction] += value
  }
  return totals
}
