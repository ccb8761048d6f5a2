// createNode: the one libp2p node factory every role uses. It turns a validated configuration
// (and, in mtls mode, the node identity) into a started libp2p node with the transports,
// security, discovery, NAT traversal and metrics the role needs, wrapped in a HyphaNode facade.
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { KEEP_ALIVE, type Libp2p } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { NodeIdentity } from '@hypha/mtls'
import { createLibp2p } from 'libp2p'
import { Registry } from 'prom-client'
import type { NetworkConfig } from '../config/index.js'
import { AddressFilter } from '../connection/address-filter.js'
import { compareDialAddresses } from '../connection/address-sorter.js'
import { combineGaters } from '../connection/connection-gater.js'
import { isOwnLoopbackAddress } from '../connection/self-dial.js'
import { relayRoleGater, relayVerdict } from '../connection/relay-roles.js'
import { dhtService } from '../discovery/dht.js'
import { mdnsDialer } from '../discovery/mdns-dialer.js'
import { circuitLimitGater } from '../nat/circuit-limit.js'
import { gossipsubOptions } from '../messaging/pubsub/options.js'
import { requestResponse } from '../messaging/request-response/index.js'
import { bulkTransfer } from '../messaging/bulk/index.js'
import { reservationKeeper } from '../nat/reservation-keeper.js'
import { holePunch } from '../nat/hole-punch/index.js'
import { linkProbe } from '../connection/link-probe.js'
import { bootstrapKeeper } from '../discovery/bootstrap-keeper.js'
import { buildTransports } from '../transports/transports.js'
import { attachNodeMetrics } from '../metrics/node-metrics.js' // hypha_* metrics (src/metrics/)
import { HyphaNode, type HyphaServices } from './hypha-node.js'
import { isRelayServer, type NodeRole } from '../roles/role.js'


/** Peer store tag of bootstrap peers; the KEEP_ALIVE prefix makes libp2p reconnect to them. */
export const BOOTSTRAP_TAG = `${KEEP_ALIVE}-hypha-bootstrap`
/** Largest link probe a node accepts (POST /peers/:id/link): enough to measure, not to exhaust. */
export const LINK_PROBE_MAX_BYTES = 256 * 1024 * 1024

export interface CreateNodeOptions {
  /** Registry for this node's metrics (one per node, so several nodes can share a process). */
  registry?: Registry
  /** Also collect Node.js process metrics into the registry (apps: yes; in-process tests: no). */
  collectDefaultMetrics?: boolean
  /** Start the node before returning it (default true). */
  start?: boolean
  /** New connections accepted per second from one IP (libp2p's default of 5 is far too low for
   *  a gateway whose workers share one NAT address). */
  inboundConnectionThreshold?: number
  /** GossipSub topics this node will use: their peer scoring penalises invalid messages. */
  pubsubTopics?: readonly string[]
  /** Serve and receive bulk transfers (`node.bulk`), payloads kept in this directory. Off when unset. */
  bulkDirectory?: string
}

export async function createNode(
  config: NetworkConfig,
  identity: NodeIdentity | undefined,
  role: NodeRole,
  options: CreateNodeOptions = {},
): Promise<HyphaNode> {
  const { network } = config
  const registry = options.registry ?? new Registry()
  const filter = new AddressFilter(network.excludeCidrs)
  const setup = buildTransports(config, identity)
  // Filled once the node exists: the circuit limit counts the node's own relayed streams.
  let node: Libp2p | undefined
  const relayServer = isRelayServer(config, role)

  const peerDiscovery: Array<ReturnType<typeof bootstrap> | ReturnType<typeof mdnsDialer>> = []
  if (network.bootstrapPeers.length > 0) {
    // kept alive, without expiry: libp2p re-dials a keep-alive peer that disconnects (with backoff,
    // see reconnect* below) and never prunes it. With the default tag a node that lost its
    // gateway (a restart, a starved ping) stayed alone for good.
    peerDiscovery.push(bootstrap({ list: network.bootstrapPeers, timeout: 0, tagName: BOOTSTRAP_TAG, tagValue: 100 }))
  }
  if (network.mdnsEnabled) {
    peerDiscovery.push(mdnsDialer({ allows: filter.allows, dialTimeoutMs: network.transport.dialTimeout }))
  }

  // only gateways serve relay hops for others (roles in certificates)
  const allowRoleless = config.security.allowRolelessPeers
  const relayRoles = relayRoleGater(identity, allowRoleless, (relay, direction) => {
    identity?.log.warn('relay refused for its role', { relay, direction, reason: 'the relay certificate is not a gateway certificate' })
  })
  const gater = combineGaters(
    setup.securityGater,
    relayRoles,
    {
      denyDialMultiaddr: (address) => filter.isExcluded(address) || isOwnLoopbackAddress(address, () => node?.getMultiaddrs() ?? []),
      filterMultiaddrForPeer: (_peer, address) => filter.allows(address),
    },
    relayServer ? circuitLimitGater(network.relay.maxCircuits, () => node?.getConnections() ?? []) : {},
  )

  const libp2p = await createLibp2p({
    start: false,
    privateKey: identity?.privateKey,
    addresses: {
      listen: network.listenAddresses,
      appendAnnounce: network.externalAddresses,
      announceFilter: (addresses) => addresses.filter(filter.allows),
    },
    transports: setup.transports,
    connectionEncrypters: setup.connectionEncrypters,
    streamMuxers: setup.streamMuxers,
    connectionGater: gater,
    peerDiscovery,
    connectionManager: {
      maxConnections: network.maxConnections,
      // dial_timeout bounds the whole dial; each address gets half of it, so an unanswered
      // QUIC attempt leaves time to fall back to TCP
      dialTimeout: network.transport.dialTimeout,
      addressDialTimeout: Math.ceil(network.transport.dialTimeout / 2),
      addressSorter: compareDialAddresses,
      inboundConnectionThreshold: options.inboundConnectionThreshold ?? 50,
      // re-dials of keep-alive peers (bootstrap peers): 1 s, 2 s, 4 s ... ~17 min in all
      reconnectRetries: 10,
      reconnectRetryInterval: 1_000,
      reconnectBackoffFactor: 2,
    },
    // keep-alive pings on every connection; a peer that stops answering is disconnected
    connectionMonitor: { enabled: true, abortConnectionOnPingFailure: true },
    metrics: config.metrics.enabled
      ? prometheusMetrics({ registry, collectDefaultMetrics: options.collectDefaultMetrics ?? false })
      : undefined,
    services: {
      ...setup.securityServices,
      identify: identify({ runOnLimitedConnection: true }),
      ping: ping({ runOnLimitedConnection: true }),
      dht: dhtService(config, role, filter),
      autonat: autoNAT(),
      holePunch: holePunch({ enabled: network.nat.holePunching, allows: filter.allows }),
      linkProbe: linkProbe({ maxBytes: LINK_PROBE_MAX_BYTES }),
      ...(relayServer
        ? {
            relay: circuitRelayServer({
              reservations: {
                maxReservations: network.relay.reservations,
                applyDefaultLimit: true,
                defaultDurationLimit: network.relay.maxCircuitDuration,
                defaultDataLimit: BigInt(network.relay.maxCircuitBytes),
              },
            }),
          }
        : {}),
      bootstrapKeeper: bootstrapKeeper({ peers: network.bootstrapPeers, dialTimeoutMs: network.transport.dialTimeout }),
      reservations: reservationKeeper({
        reachability: relayServer ? 'public' : network.nat.reachability,
        checkIntervalMs: network.nat.reservationCheckInterval,
        mayReserveOn: (peer) => relayVerdict(identity, allowRoleless, peer) === 'gateway',
      }),
      pubsub: gossipsub(gossipsubOptions({ maxMessageBytes: network.limits.maxMessageBytes, scoredTopics: options.pubsubTopics ?? [] })),
      rpc: requestResponse({
        maxMessageBytes: network.limits.maxMessageBytes,
        defaultMaxConcurrent: network.limits.maxInboundStreams,
      }),
      ...(options.bulkDirectory !== undefined ? { bulk: bulkTransfer({ directory: options.bulkDirectory }) } : {}),
    },
  })
  node = libp2p
  const hypha = new HyphaNode(libp2p as unknown as Libp2p<HyphaServices>, { config, role, registry, identity })
  // hypha_* metrics (src/metrics/), detached when the node stops so a NodeIdentity that outlives it keeps no listeners
  if (config.metrics.enabled) libp2p.addEventListener('stop', attachNodeMetrics(hypha), { once: true })
  if (options.start !== false) {
    await hypha.start()
  }
  return hypha
}
