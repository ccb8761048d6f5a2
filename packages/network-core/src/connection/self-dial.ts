// A peer's loopback address names that peer's host, but dialled from another host it names this
// one: a NATed worker's announced 127.0.0.1:4001, dialled by a worker that listens on 4001 too,
// reaches the dialler's own listener. Over TCP from the listen port (the reuseport transport)
// that is a self-connect whose TLS handshake fails ("unexpected message"), over QUIC a handshake
// with itself; either way a wasted dial and a confusing error before the right address is tried.
// Only this node listens on its own ports of this host, so a loopback address on one of them is
// always this node: refused before it is dialled. Other loopback addresses (the local stack,
// tests) stay dialable.
import { isLoopback } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isCircuitAddress } from './addresses.js'

/** `tcp/4001` or `udp/4001`: the transport port of an IP address, if it has one. */
function portOf(address: Multiaddr): string | undefined {
  const [ip, port] = address.getComponents()
  if (ip === undefined || port === undefined || (ip.name !== 'ip4' && ip.name !== 'ip6')) return undefined
  return port.name === 'tcp' || port.name === 'udp' ? `${port.name}/${port.value}` : undefined
}

/**
 * True when `address` is a loopback address on a port this node listens on (`listening`, its own
 * addresses), i.e. this node itself.
 */
export function isOwnLoopbackAddress(address: Multiaddr, listening: () => readonly Multiaddr[]): boolean {
  if (isCircuitAddress(address) || !isLoopback(address)) return false
  const port = portOf(address)
  if (port === undefined) return false
  return listening().some((own) => !isCircuitAddress(own) && portOf(own) === port)
}
