// One connection gater from several policies: a connection or dial is refused when any policy
// refuses it. The mtls gater (known-revoked peers) and the address filter (exclude_cidrs) meet here.
import type { ConnectionGater } from '@libp2p/interface'

type GaterMethod = keyof ConnectionGater

const METHODS: GaterMethod[] = [
  'denyDialPeer',
  'denyDialMultiaddr',
  'denyInboundConnection',
  'denyOutboundConnection',
  'denyInboundEncryptedConnection',
  'denyOutboundEncryptedConnection',
  'denyInboundUpgradedConnection',
  'denyOutboundUpgradedConnection',
  'denyInboundRelayReservation',
  'denyOutboundRelayedConnection',
  'denyInboundRelayedConnection',
]

export function combineGaters(...gaters: ConnectionGater[]): ConnectionGater {
  const combined: Record<string, (...args: unknown[]) => Promise<boolean>> = {}
  for (const method of METHODS) {
    const parts = gaters
      .map((g) => g[method] as ((...args: unknown[]) => boolean | Promise<boolean>) | undefined)
      .filter((fn) => fn !== undefined)
    if (parts.length === 0) continue
    combined[method] = async (...args: unknown[]) => {
      for (const part of parts) if (await part(...args)) return true
      return false
    }
  }
  const filters = gaters.map((g) => g.filterMultiaddrForPeer).filter((fn) => fn !== undefined)
  const result = combined as ConnectionGater
  if (filters.length > 0) {
    result.filterMultiaddrForPeer = async (peer, multiaddr) => {
      for (const filter of filters) if (!(await filter(peer, multiaddr))) return false
      return true
    }
  }
  return result
}
