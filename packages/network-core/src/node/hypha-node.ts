// HyphaNode: the small typed facade the roles use instead of reaching into libp2p: lifecycle,
// addresses, peer lookups (DHT), connected peers as operators see them, health probes and the
// node's metrics registry. The libp2p instance stays reachable for what the facade lacks.
import { setTimeout as delay } from 'node:timers/promises'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { MtlsAdmission, NodeIdentity, RefusalMemory } from '@hypha/mtls'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Registry } from 'prom-client'
import type { NetworkConfig } from '../config/index.js'
import type { LinkProbe, LinkProbeResult } from '../connection/link-probe.js'
import type { HolePunch, HolePunchResult } from '../nat/hole-punch/index.js'
import { isCircuitAddress, peerIdOfAddress, relayOfAddress, type TransportKind, transportOf } from '../connection/addresses.js'
import type { ReservationKeeper } from '../nat/reservation-keeper.js'
import type { RequestResponse } from '../messaging/request-response/index.js'
import type { BulkTransfer } from '../messaging/bulk/index.js'
import { TypedPubSub } from '../messaging/pubsub/index.js'
import type { NodeRole } from '../roles/role.js'

export interface HyphaServices {
  dht: KadDHT
  pubsub: GossipSub
  rpc: RequestResponse
  /** Present when the node was created with `bulkDirectory`. */
  bulk?: BulkTransfer
  reservations: ReservationKeeper
  ping: { ping(peer: PeerId | Multiaddr, options?: { signal?: AbortSignal }): Promise<number> }
  mtlsAdmission?: MtlsAdmission
  /** mTLS mode only: who refused this node, whom it refused (the gater's memory). */
  mtlsRefusals?: RefusalMemory
  holePunch: HolePunch
  linkProbe: LinkProbe
  [name: string]: unknown
}

/** How `HyphaNode.connect` reached a peer. */
export interface PeerLink {
  connection: Connection
  direct: boolean
  /** The hole punch this connection came from (undefined when a direct link existed or was dialled). */
  holePunch: HolePunchResult | undefined
  /** From the call to a direct connection (or to giving up on one). */
  durationMs: number
}

export interface ConnectOptions {
  signal?: AbortSignal
  /** Close every connection to the peer first, so the link is made afresh (a new punch). */
  fresh?: boolean
  /** How long to wait for a relayed connection to be upgraded to a direct one. @default 15000 */
  upgradeTimeoutMs?: number
}

export interface ConnectedPeer {
  id: string
  addresses: string[]
  /** 'quic', 'tcp' or 'relay' (the transport of the first open connection). */
  transport: TransportKind
  /** False when every connection to the peer goes through a relay. */
  direct: boolean
  /** The relay a relayed peer is reached through (null when direct). */
  relay: string | null
  /** Who dialled the connection in use: 'outbound' = this node. */
  direction: 'inbound' | 'outbound'
  /** The roles the peer's verified certificate grants (empty: roleless, or no mTLS). */
  roles: string[]
  /** When the oldest open connection to the peer was opened (ISO 8601). */
  since: string
  connections: number
}

export interface HealthReport {
  /** The node is started and listens on at least one address. */
  listening: boolean
  /** Connected to at least one configured bootstrap peer (true when none is configured). */
  bootstrapConnected: boolean
  dhtRoutingTableSize: number
  /** Whether the node should hold a relay reservation, and whether it does. */
  reservationNeeded: boolean
  reservationHeld: boolean
  /** Peers a certificate refusal stands between (by: 'remote' = it refused ours), until a handshake succeeds, with when they are dialled again. */
  refusals: Array<{ peerId: string; by: 'local' | 'remote'; reason: string; detail: string; retryInMs: number; bootstrap: boolean }>
}

export interface HyphaNodeInit {
  config: NetworkConfig
  role: NodeRole
  registry: Registry
  identity: NodeIdentity | undefined
}

export class HyphaNode {
  readonly libp2p: Libp2p<HyphaServices>
  readonly config: NetworkConfig
  readonly role: NodeRole
  readonly registry: Registry
  readonly identity: NodeIdentity | undefined
  /** Typed GossipSub topics with schema validation of every inbound message. */
  readonly pubsub: TypedPubSub
  readonly #bootstrapPeers: Set<string>

  constructor(libp2p: Libp2p<HyphaServices>, init: HyphaNodeInit) {
    this.libp2p = libp2p
    this.pubsub = new TypedPubSub(libp2p.services.pubsub, { maxMessageBytes: init.config.network.limits.maxMessageBytes })
    this.config = init.config
    this.role = init.role
    this.registry = init.registry
    this.identity = init.identity
    this.#bootstrapPeers = new Set(
      init.config.network.bootstrapPeers.map(peerIdOfAddress).filter((id): id is string => id !== undefined),
    )
  }

  get peerId(): PeerId {
    return this.libp2p.peerId
  }

  get services(): HyphaServices {
    return this.libp2p.services
  }

  /** Typed request/response: `node.rpc.handle(...)`, `node.rpc.request(...)`. */
  get rpc(): RequestResponse {
    return this.libp2p.services.rpc
  }

  /** Bulk transfer (push/pull of named payloads); undefined unless created with `bulkDirectory`. */
  get bulk(): BulkTransfer | undefined {
    return this.libp2p.services.bulk
  }

  async start(): Promise<void> {
    await this.libp2p.start()
  }

  async stop(): Promise<void> {
    this.pubsub.stop()
    await this.libp2p.stop()
  }

  getMultiaddrs(): Multiaddr[] {
    return this.libp2p.getMultiaddrs()
  }

  async dial(target: PeerId | Multiaddr | Multiaddr[], options: { signal?: AbortSignal } = {}): Promise<Connection> {
    return this.libp2p.dial(target, options)
  }

  /**
   * A connection to `peer`, direct when the network allows: an open direct connection, else a
   * dial (addresses from the peer store or a DHT lookup, else through a connected relay that holds
   * the peer's reservation), and when that is relayed, the hole punch
   * the peer starts on it (DCUtR), waited for up to `upgradeTimeoutMs`. Resolves with the relayed
   * connection and the punch's outcome when no direct one comes.
   */
  async connect(peer: PeerId, options: ConnectOptions = {}): Promise<PeerLink> {
    const started = Date.now()
    const signal = options.signal
    if (options.fresh === true) {
      await this.libp2p.hangUp(peer, { signal })
      await waitUntil(() => this.libp2p.getConnections(peer).length === 0, signal, 5_000)
    }
    const directNow = (): Connection | undefined => this.libp2p.getConnections(peer).find((c) => c.status === 'open' && !isCircuitAddress(c.remoteAddr))
    const existing = directNow()
    if (existing !== undefined) return { connection: existing, direct: true, holePunch: undefined, durationMs: Date.now() - started }
    // listen before dialling: the peer starts the punch as soon as the relayed connection opens
    let result: HolePunchResult | undefined
    const onResult = (evt: CustomEvent<HolePunchResult>): void => {
      if (evt.detail.peer.equals(peer)) result = evt.detail
    }
    this.services.holePunch.addEventListener('hole-punch:result', onResult)
    const before = new Set(this.libp2p.getConnections(peer).map((c) => c.id))
    try {
      const connection = await this.libp2p.dial(peer, { signal }).catch(async (err: unknown) => {
        // The addresses known locally may predate the peer's reservation (a node that just joined),
        // and a DHT client (every worker) is in no routing table, so a lookup may not find it
        // either: a relay we are connected to knows its reservations by peer id, dial through it.
        const relay = await this.services.reservations.connectedRelay()
        if (relay === undefined) throw err
        return this.libp2p.dial(relay.encapsulate(`/p2p-circuit/p2p/${peer.toString()}`), { signal })
      })
      if (!isCircuitAddress(connection.remoteAddr)) return { connection, direct: true, holePunch: undefined, durationMs: Date.now() - started }
      // a relayed connection that was already open had its upgrade attempt (or its back-off): none is coming
      if (before.has(connection.id)) return { connection, direct: false, holePunch: undefined, durationMs: Date.now() - started }
      await waitUntil(() => directNow() !== undefined || (result !== undefined && result.outcome !== 'direct'), signal, options.upgradeTimeoutMs ?? 15_000).catch(
        () => undefined,
      )
      const direct = directNow()
      return { connection: direct ?? connection, direct: direct !== undefined, holePunch: result, durationMs: Date.now() - started }
    } finally {
      this.services.holePunch.removeEventListener('hole-punch:result', onResult)
    }
  }

  /** Moves `bytes` random bytes over `connection` and checks the peer's SHA-256 of them. */
  async probeLink(connection: Connection, bytes: number, options: { signal?: AbortSignal } = {}): Promise<LinkProbeResult> {
    return this.services.linkProbe.probe(connection, bytes, options)
  }

  /** Looks a peer up (peer store first, then the DHT). */
  async findPeer(peerId: PeerId, options: { signal?: AbortSignal } = {}): Promise<PeerInfo> {
    const found = await this.libp2p.peerRouting.findPeer(peerId, options)
    if (found.multiaddrs.length > 0) return found
    // kad-dht answers from the local peer store first, even for a peer it holds no address of
    // (known from a connection whose identify has not finished): ask the network instead
    return this.libp2p.peerRouting.findPeer(peerId, { ...options, useCache: false })
  }

  /** The peers closest to a key in the DHT's XOR metric. */
  async closestPeers(key: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<PeerInfo[]> {
    const peers: PeerInfo[] = []
    for await (const peer of this.libp2p.peerRouting.getClosestPeers(key, options)) peers.push(peer)
    return peers
  }

  /**
   * Open connections whose peer passed the organisation's PKI: in mTLS mode a QUIC connection
   * counts only once admission admitted it (TCP and relayed ones were verified in their TLS
   * handshake). A peer still in, or refused by, admission is not anyone's "connected peer".
   */
  admittedConnections(peer?: PeerId): Connection[] {
    const admission = this.services.mtlsAdmission
    const connections = this.libp2p.getConnections(peer)
    return admission === undefined ? connections : connections.filter((c) => admission.isAdmitted(c))
  }

  connectedPeers(): ConnectedPeer[] {
    const byPeer = new Map<string, Connection[]>()
    for (const connection of this.admittedConnections()) {
      const key = connection.remotePeer.toString()
      byPeer.set(key, [...(byPeer.get(key) ?? []), connection])
    }
    return [...byPeer.entries()].map(([id, connections]) => {
      const directOne = connections.find((c) => transportOf(c) !== 'relay')
      const inUse = directOne ?? (connections[0] as Connection)
      return {
        id,
        addresses: connections.map((c) => c.remoteAddr.toString()),
        transport: transportOf(inUse),
        direct: directOne !== undefined,
        relay: directOne !== undefined ? null : (relayOfAddress(inUse.remoteAddr) ?? null),
        direction: inUse.direction,
        roles: [...(this.identity?.rolesOf(id) ?? [])].sort(),
        since: new Date(Math.min(...connections.map((c) => c.timeline.open))).toISOString(),
        connections: connections.length,
      }
    })
  }

  /** Latency to a connected peer in ms (a ping over the open connection). */
  async latency(peerId: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.services.ping.ping(peerId, options)
  }

  dhtRoutingTableSize(): number {
    const dht = this.services.dht as KadDHT & { routingTable?: { size: number } }
    return dht.routingTable?.size ?? 0
  }

  health(): HealthReport {
    const connectedIds = new Set(this.admittedConnections().map((c) => c.remotePeer.toString()))
    const bootstrapConnected =
      this.#bootstrapPeers.size === 0 || [...this.#bootstrapPeers].some((id) => connectedIds.has(id))
    const reservations = this.services.reservations
    return {
      listening: this.libp2p.status === 'started' && this.getMultiaddrs().some((a) => !isCircuitAddress(a)),
      bootstrapConnected,
      dhtRoutingTableSize: this.dhtRoutingTableSize(),
      reservationNeeded: reservations.needsReservation(),
      reservationHeld: reservations.circuitAddresses().length > 0,
      refusals: (this.services.mtlsRefusals?.refusedBy() ?? []).map((r) => ({
        peerId: r.peerId,
        by: r.by,
        reason: r.reason,
        detail: r.detail,
        retryInMs: Math.max(0, r.retryAt - Date.now()),
        bootstrap: this.#bootstrapPeers.has(r.peerId),
      })),
    }
  }
}

/** Polls `condition` every 20 ms until it holds; rejects on the signal or after `timeoutMs`. */
async function waitUntil(condition: () => boolean, signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
  const bounded = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal !== undefined ? [signal] : [])])
  while (!condition()) await delay(20, undefined, { signal: bounded })
}
