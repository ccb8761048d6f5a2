// Per-connection bandwidth limits (`network.limits.bandwidth_in` / `bandwidth_out`, bytes per
// second, 0 = unlimited): one token bucket per direction per connection, burst = one second of
// rate (a fresh or idle connection may move that much at once; after that the rate holds).
//
// Where: the stream muxer factory (yamux) is wrapped so every muxer reads and writes through a
// throttled view of the connection's decrypted MessageStream (throttled-stream.ts). That single
// point covers every connection libp2p multiplexes itself: TCP, and relayed (/p2p-circuit)
// connections, which are upgraded with TLS + yamux over a relay stream. Wrapping the transports
// instead would miss relayed connections and would count bytes before libp2p's connection
// setup (multistream, TLS handshake), which then would be throttled too.
// What is counted: the bytes the muxer exchanges (payload + yamux framing, 12 bytes per frame);
// TLS record overhead (~0.1%) and the handshake are not.
//
// Limits of the approach, on purpose:
// - QUIC is NOT limited. @chainsafe/libp2p-quic multiplexes inside its Rust core: there is no
//   byte stream between the connection and the streams to throttle, and throttling each
//   stream separately would not bound the connection (nor cover QUIC's own traffic). A node
//   with QUIC enabled and a limit set gets a startup warning (`quicBandwidthWarning`); to
//   enforce the limit on every connection, disable QUIC (`network.transport.quic_enabled = false`).
// - A limit delays everything on the connection, the muxer's pings and window updates too:
//   bytes queued behind the bucket add queue/rate seconds of latency. Keep the limits well
//   above what the connection monitor's ping timeout (>= 5 s) can tolerate with a full yamux
//   window queued (256 KiB by default per busy stream).
// - Nothing is dropped: data over the limit waits (outbound: the muxer's streams see the
//   connection as full and wait for 'drain'; inbound: the socket is paused, so the sender is
//   held back by TCP flow control). A graceful connection close waits for the outbound queue.
import type { StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import type { NetworkConfig } from '../../config/index.js'
import { type BandwidthLimits, ThrottledMessageStream, type ThrottleOptions } from './throttled-stream.js'

export { TokenBucket } from './token-bucket.js'
export { ThrottledMessageStream, type BandwidthLimits, type ThrottleOptions } from './throttled-stream.js'

/** The bandwidth limits of a configuration. */
export function bandwidthLimitsOf(config: NetworkConfig): BandwidthLimits {
  const { bandwidthIn, bandwidthOut } = config.network.limits
  return { bandwidthIn, bandwidthOut }
}

export function hasBandwidthLimit(limits: BandwidthLimits): boolean {
  return limits.bandwidthIn > 0 || limits.bandwidthOut > 0
}

/**
 * Wraps a stream muxer factory (as passed to createLibp2p's `streamMuxers`) so each muxer it
 * creates reads and writes through a per-connection token bucket. With no limit set the
 * factory is returned unchanged.
 */
export function bandwidthLimitedMuxer<C>(
  factory: (components: C) => StreamMuxerFactory,
  limits: BandwidthLimits,
  options: ThrottleOptions = {},
): (components: C) => StreamMuxerFactory {
  if (!hasBandwidthLimit(limits)) return factory
  return (components) => {
    const muxerFactory = factory(components)
    const createStreamMuxer = muxerFactory.createStreamMuxer.bind(muxerFactory)
    muxerFactory.createStreamMuxer = (maConn): StreamMuxer => {
      const throttle = new ThrottledMessageStream(maConn, limits, options)
      const muxer = createStreamMuxer(throttle.view)
      // a graceful close (the muxer's GoAway included) waits for the throttled bytes, so the
      // connection's transport is not closed under them
      const close = muxer.close.bind(muxer)
      muxer.close = async (closeOptions) => {
        await close(closeOptions)
        await throttle.flushed(closeOptions)
      }
      return muxer
    }
    return muxerFactory
  }
}

/** The warning to give at startup when a limit is set but QUIC connections will ignore it. */
export function quicBandwidthWarning(config: NetworkConfig): string | undefined {
  const limits = bandwidthLimitsOf(config)
  if (!config.network.transport.quicEnabled || !hasBandwidthLimit(limits)) return undefined
  return (
    `network.limits.bandwidth_in/bandwidth_out (${limits.bandwidthIn}/${limits.bandwidthOut} bytes/s) apply to TCP and ` +
    'relayed connections only: QUIC connections are not limited (QUIC multiplexes inside @chainsafe/libp2p-quic). ' +
    'Set network.transport.quic_enabled = false to enforce the limit on every connection.'
  )
}

export const QUIC_BANDWIDTH_WARNING_CODE = 'HYPHA_BANDWIDTH_QUIC_UNLIMITED'
