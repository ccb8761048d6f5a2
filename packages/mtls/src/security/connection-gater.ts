// The connection gater never sees certificates; it refuses, before any handshake, the peers
// whose certificates this node has already found revoked (the PeerRegistry), so a revoked
// node cannot keep costing us TLS handshakes or QUIC admissions.
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { NodeIdentity } from '../identity/node-identity.js'

export function mtlsConnectionGater(identity: NodeIdentity): ConnectionGater {
  const denyRevoked = (peerId: PeerId): boolean => identity.peers.isKnownRevoked(peerId)
  return {
    denyDialPeer: denyRevoked,
    denyInboundEncryptedConnection: denyRevoked,
    denyOutboundEncryptedConnection: denyRevoked,
    denyInboundUpgradedConnection: denyRevoked,
    denyOutboundUpgradedConnection: denyRevoked,
  }
}
