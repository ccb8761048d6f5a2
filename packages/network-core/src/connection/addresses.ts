// What a multiaddr or a connection says about itself, in one place: the transport it runs on,
// whether it is relayed, the peer id at its end, and the circuit relay v2 protocol ids. Every
// layer (node, metrics, NAT, discovery) asks here instead of reaching into another's module.
import type { Connection, PeerId } from '@libp2p/interface'
import { isPeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The circuit relay v2 protocol a relay server offers (reservations, circuits). */
export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
/** The protocol a relay opens to the far end of each circuit. */
export const RELAY_STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'

export type TransportKind = 'quic' | 'tcp' | 'relay' | 'other'

/** The transport of an address: relayed wins over what the relay leg runs on. */
export function transportOfAddress(address: Multiaddr): TransportKind {
  const names = address.getComponents().map((c) => c.name)
  if (names.includes('p2p-circuit')) return 'relay'
  if (names.includes('quic-v1')) return 'quic'
  if (names.includes('tcp')) return 'tcp'
  return 'other'
}

export function transportOf(connection: Connection): TransportKind {
  return transportOfAddress(connection.remoteAddr)
}

export function isCircuitAddress(address: Multiaddr): boolean {
  return address.getComponents().some((c) => c.name === 'p2p-circuit')
}

/** The peer id an address string ends with (`.../p2p/<id>`), or undefined. */
export function peerIdOfAddress(address: string): string | undefined {
  const at = address.lastIndexOf('/p2p/')
  if (at < 0) return undefined
  const id = address.slice(at + '/p2p/'.length)
  return id === '' || id.includes('/') ? undefined : id
}

/** The peer a dial target names: the PeerId itself, or the id an address ends with (undefined when none). */
export function peerIdOfTarget(target: PeerId | Multiaddr): PeerId | undefined {
  if (isPeerId(target)) return target
  const id = peerIdOfAddress(target.toString())
  if (id === undefined) return undefined
  try {
    return peerIdFromString(id)
  } catch {
    return undefined
  }
}

/** The relay a circuit address goes through (`/<relay transport>/p2p/<relay>/p2p-circuit[/p2p/<target>]`), or undefined. */
export function relayOfAddress(address: Multiaddr): string | undefined {
  const components = address.getComponents()
  const circuit = components.findIndex((c) => c.name === 'p2p-circuit')
  if (circuit < 0) return undefined
  return components
    .slice(0, circuit)
    .reverse()
    .find((c) => c.name === 'p2p')?.value
}
