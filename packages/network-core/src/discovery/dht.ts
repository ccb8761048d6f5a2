// Kademlia on a private network: our own protocol id (so a Hypha network never mixes with the
// public IPFS DHT), server or client mode per role, and a peer info mapper driven by
// exclude_cidrs instead of kad-dht's default, which strips every private address (on loopback,
// Docker bridges and LANs nothing would ever be found).
import { type KadDHTInit, kadDHT } from '@libp2p/kad-dht'
import type { PeerInfo } from '@libp2p/interface'
import type { NetworkConfig } from '../config/index.js'
import type { AddressFilter } from '../connection/address-filter.js'
import { kademliaMode, type NodeRole } from '../roles/role.js'

export const HYPHA_KAD_PROTOCOL = '/hypha/kad/1.0.0'

/** Effective mode: an explicit config wins; "auto" falls back to the role's natural mode. */
export function dhtService(config: NetworkConfig, role: NodeRole, filter: AddressFilter): ReturnType<typeof kadDHT> {
  const mode = kademliaMode(config, role)
  const init: KadDHTInit = {
    protocol: HYPHA_KAD_PROTOCOL,
    kBucketSize: config.network.dht.replicationFactor,
    // undefined lets kad-dht switch to server mode once AutoNAT confirms a public address
    ...(mode === 'auto' ? {} : { clientMode: mode === 'client' }),
    allowQueryWithZeroPeers: true,
    peerInfoMapper: (peer: PeerInfo): PeerInfo => ({ ...peer, multiaddrs: peer.multiaddrs.filter(filter.allows) }),
  }
  return kadDHT(init)
}
