// Only gateways serve relay hops for others: the relay's role, from its verified certificate
// (@hypha/mtls, urn:hypha:role:gateway), decides whether this node reserves on it and whether
// it accepts a relayed connection that came through it. A node of another role with
// relay_enabled could otherwise carry (and watch the timing of) other nodes' traffic.
// Roleless certificates count as any role while security.allow_roleless_peers is true.
import { roleStanding } from '@hypha/mtls'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isCircuitAddress } from './addresses.js'

/** The verified roles of connected peers (a NodeIdentity). */
export interface RelayRoleSource {
  rolesOf(peer: PeerId | string): ReadonlySet<string> | undefined
}

export type RelayVerdict = 'gateway' | 'not-gateway' | 'unknown'

export function relayVerdict(source: RelayRoleSource | undefined, allowRoleless: boolean, peer: PeerId | string): RelayVerdict {
  if (source === undefined) return 'gateway'
  const standing = roleStanding(source.rolesOf(peer), 'gateway', allowRoleless)
  return standing === 'granted' ? 'gateway' : standing === 'unverified' ? 'unknown' : 'not-gateway'
}

/** The relay peer of a /p2p-circuit address (the /p2p before /p2p-circuit), if it names one. */
function relayOf(address: Multiaddr): string | undefined {
  const components = address.getComponents()
  const circuit = components.findIndex((c) => c.name === 'p2p-circuit')
  if (circuit <= 0) return undefined
  const relay = components[circuit - 1]
  return relay?.name === 'p2p' ? relay.value : undefined
}

/**
 * Refuses relayed connections through a relay whose certificate says it is no gateway: inbound
 * (a STOP from it) and outbound (dialling a circuit address through it). Peers not verified
 * here yet are let through: their certificate is checked when the connection to them opens.
 */
export function relayRoleGater(source: RelayRoleSource | undefined, allowRoleless: boolean, onRefused: (relay: string, direction: 'inbound' | 'outbound') => void): ConnectionGater {
  if (source === undefined) return {}
  const refuse = (relay: string, direction: 'inbound' | 'outbound'): boolean => {
    if (relayVerdict(source, allowRoleless, relay) !== 'not-gateway') return false
    onRefused(relay, direction)
    return true
  }
  return {
    denyInboundRelayedConnection: (relay) => refuse(relay.toString(), 'inbound'),
    denyDialMultiaddr: (address) => {
      if (!isCircuitAddress(address)) return false
      const relay = relayOf(address)
      return relay !== undefined && refuse(relay, 'outbound')
    },
  }
}
