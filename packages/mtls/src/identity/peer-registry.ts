// What this node knows about remote peers' certificates: the verified chain of each admitted
// peer (to re-check open connections after a CRL reload) and the peers whose certificates
// were found revoked (so the connection gater can refuse them before any handshake).
import type { PeerId } from '@libp2p/interface'
import type { VerifiedPeer } from '../verify/chain-verifier.js'

export class PeerRegistry {
  readonly #verified = new Map<string, VerifiedPeer>()
  readonly #revoked = new Set<string>()

  recordVerified(peer: VerifiedPeer): void {
    const key = peer.peerId.toString()
    this.#verified.set(key, peer)
    this.#revoked.delete(key)
  }

  recordRevoked(peerId: PeerId): void {
    const key = peerId.toString()
    this.#revoked.add(key)
    this.#verified.delete(key)
  }

  verified(peerId: PeerId): VerifiedPeer | undefined {
    return this.#verified.get(peerId.toString())
  }

  verifiedById(peerId: string): VerifiedPeer | undefined {
    return this.#verified.get(peerId)
  }

  allVerified(): VerifiedPeer[] {
    return [...this.#verified.values()]
  }

  forget(peerId: PeerId): void {
    this.#verified.delete(peerId.toString())
  }

  isKnownRevoked(peerId: PeerId): boolean {
    return this.#revoked.has(peerId.toString())
  }

  /** After a CRL reload revocations are recomputed from scratch (a CRL may also shrink). */
  clearRevoked(): void {
    this.#revoked.clear()
  }
}
