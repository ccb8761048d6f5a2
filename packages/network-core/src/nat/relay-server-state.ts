// What a relay server (the circuit relay v2 server service, on gateways) holds right now: the
// peers it stores reservations for. Read through the service's public `reservations` PeerMap,
// checked at run time: a node without the server has no such service.
import type { PeerId } from '@libp2p/interface'

export interface RelayServerState {
  readonly reservations: { readonly size: number; keys(): IterableIterator<PeerId> }
}

/** The relay server service's state, or undefined when the node runs none. */
export function relayServerState(relayService: unknown): RelayServerState | undefined {
  if (typeof relayService !== 'object' || relayService === null || !('reservations' in relayService)) return undefined
  const { reservations } = relayService
  if (typeof reservations !== 'object' || reservations === null || !('size' in reservations) || !('keys' in reservations)) return undefined
  return typeof reservations.size === 'number' && typeof reservations.keys === 'function' ? (relayService as RelayServerState) : undefined
}
