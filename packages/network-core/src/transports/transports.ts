// The transports and connection security of a node, from its configuration: QUIC (primary) and
// TCP (fallback) each switchable, yamux over TCP, circuit relay for dialling /p2p-circuit
// addresses, and either the organisation's mTLS (default) or the open mode (libp2p TLS / noise).
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { ConnectionEncrypter, ConnectionGater, StreamMuxerFactory, Transport } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { type MtlsSecurity, type NodeIdentity, mtlsSecurity } from '@hypha/mtls'
import type { NetworkConfig } from '../config/index.js'
// bandwidth limits (network.limits.bandwidth_in/out): per-connection token buckets around yamux
import { QUIC_BANDWIDTH_WARNING_CODE, bandwidthLimitedMuxer, bandwidthLimitsOf, quicBandwidthWarning } from '../connection/bandwidth/index.js'
import { abortableDial } from './abortable-dial.js'
import { reuseportTcp } from './reuseport-tcp.js'

// libp2p's own factory types differ per module; this is the shape createLibp2p accepts.
// biome-ignore lint/suspicious/noExplicitAny: component bags are module-specific
type Factory<T> = (components: any) => T

export interface TransportSetup {
  transports: Array<Factory<Transport>>
  connectionEncrypters: Array<Factory<ConnectionEncrypter>>
  streamMuxers: Array<Factory<StreamMuxerFactory>>
  /** Security services (mTLS admission and revocation sweeper) to add to the node. */
  securityServices: Partial<MtlsSecurity['services']>
  securityGater: ConnectionGater
}

export function buildTransports(config: NetworkConfig, identity: NodeIdentity | undefined): TransportSetup {
  const { transport, limits } = config.network
  const transports: Array<Factory<Transport>> = []
  if (transport.quicEnabled) {
    transports.push(
      abortableDial(quic({
        maxIdleTimeout: transport.quicIdleTimeout,
        // keep-alives well inside the idle timeout, so a quiet but healthy connection stays up
        keepAliveInterval: Math.max(1_000, Math.floor(transport.quicIdleTimeout / 3)),
        handshakeTimeout: Math.ceil(transport.dialTimeout / 2),
        maxConcurrentStreamLimit: Math.max(256, limits.maxInboundStreams * 4),
      })) as Factory<Transport>,
    )
  }
  if (transport.tcpEnabled) {
    const tcpOptions = {
      // stale sockets are closed; the connection monitor's pings keep live ones busy
      inboundSocketInactivityTimeout: transport.quicIdleTimeout * 2,
      outboundSocketInactivityTimeout: transport.quicIdleTimeout * 2,
    }
    // hole punching needs every dial to leave from the listen port (see reuseport-tcp.ts)
    transports.push((config.network.nat.holePunching ? reuseportTcp(tcpOptions) : tcp(tcpOptions)) as Factory<Transport>)
  }
  transports.push(circuitRelayTransport({ reservationCompletionTimeout: transport.dialTimeout }) as Factory<Transport>)

  const streamMuxers = [
    // bandwidth limits: yamux reads/writes through per-connection token buckets (TCP and relayed
    // connections; unchanged when both limits are 0). See src/connection/bandwidth/index.ts.
    bandwidthLimitedMuxer(
      yamux({
        maxInboundStreams: limits.maxInboundStreams * 4,
        // yamux allows 10 streams before the receiver finishes setting a connection up and then
        // kills the connection: a scheduler fanning requests out to a freshly dialled worker hits it
        maxEarlyStreams: 256,
      }) as Factory<StreamMuxerFactory>,
      bandwidthLimitsOf(config),
    ),
  ]
  // bandwidth limits: QUIC muxes inside its Rust core and is not limited; say so at startup
  const quicWarning = quicBandwidthWarning(config)
  if (quicWarning !== undefined) process.emitWarning(quicWarning, { code: QUIC_BANDWIDTH_WARNING_CODE })

  if (config.security.mode === 'open') {
    return {
      transports,
      connectionEncrypters: [tls() as Factory<ConnectionEncrypter>, noise() as Factory<ConnectionEncrypter>],
      streamMuxers,
      securityServices: {},
      securityGater: {},
    }
  }
  if (identity === undefined) {
    throw new Error('security.mode = "mtls" needs the node identity (certificate, key, trust bundle)')
  }
  const { refusalBackoff, refusalBackoffMax, refusalCooldown } = config.security
  const security = mtlsSecurity(identity, {
    timeoutMs: transport.dialTimeout,
    refusals: { retryMinMs: refusalBackoff, retryMaxMs: Math.max(refusalBackoff, refusalBackoffMax), coolDownMs: refusalCooldown },
  })
  return {
    transports,
    connectionEncrypters: security.connectionEncrypters,
    streamMuxers,
    securityServices: security.services,
    securityGater: security.connectionGater,
  }
}
