// The three node roles and the network duties each has, derived here and nowhere else: whether
// it runs a relay server and its Kademlia mode (a config key can override each). What a role
// does with the network (tasks) lives in the apps.
import type { NetworkConfig } from '../config/index.js'

export type NodeRole = 'gateway' | 'scheduler' | 'worker'

export const NODE_ROLES: readonly NodeRole[] = ['gateway', 'scheduler', 'worker']

/** Gateways relay; any role does when `[network.relay] relay_enabled` says so. */
export function isRelayServer(config: NetworkConfig, role: NodeRole): boolean {
  return role === 'gateway' || config.network.relay.relayEnabled
}

/** Gateways serve the DHT, workers (often behind NAT) only query it, schedulers decide by reachability. */
export function kademliaMode(config: NetworkConfig, role: NodeRole): 'server' | 'client' | 'auto' {
  const configured = config.network.dht.kademliaMode
  if (configured !== 'auto') return configured
  if (role === 'gateway') return 'server'
  if (role === 'worker') return 'client'
  return 'auto'
}
