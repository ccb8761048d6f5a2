// The connection gater never sees certificates; it refuses, before any handshake, the peers
// whose certificates this node has already found revoked (the PeerRegistry), so a revoked
// node cannot keep costing us TLS handshakes or QUIC admissions. With a RefusalMemory it also
// holds back dials to peers that refused us (their back-off) and drops inbound attempts from
// peers and addresses we refused recently (their cool-down), counting each drop.
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { NodeIdentity } from '../identity/node-identity.js'
import type { DropPoint, RefusalMemory } from './refusal-memory.js'

export function mtlsConnectionGater(identity: NodeIdentity, refusals: () => RefusalMemory | undefined = () => undefined): ConnectionGater {
  const denyRevoked = (peerId: PeerId): boolean => identity.peers.isKnownRevoked(peerId)
  const drop = (point: DropPoint): true => {
    refusals()?.dropped(point)
    return true
  }
  const denyRefusedPeer = (peerId: PeerId): boolean =>
    denyRevoked(peerId) || (refusals()?.inboundPeerBlocked(peerId) === true && drop('inbound-peer'))
  return {
    denyDialPeer: (peerId) => denyRevoked(peerId) || (refusals()?.dialBackoff(peerId) !== undefined && drop('dial')),
    denyInboundConnection: (maConn: MultiaddrConnection) => refusals()?.inboundAddressBlocked(maConn.remoteAddr) === true && drop('inbound-address'),
    denyInboundEncryptedConnection: denyRefusedPeer,
    denyOutboundEncryptedConnection: denyRevoked,
    denyInboundUpgradedConnection: denyRefusedPeer,
    denyOutboundUpgradedConnection: denyRevoked,
  }
}
