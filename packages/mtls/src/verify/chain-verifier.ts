// Verifies a peer's certificate chain (leaf first, then intermediates) against the trust
// bundle: path to a trusted CA, signatures, CA constraints, validity dates, revocation, and
// the PeerId the leaf key implies. One verifier serves both the TLS encrypter and the QUIC
// admission protocol, so both transports refuse exactly the same peers for the same reasons.
import { X509Certificate } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { CertificateRefusedError, isRefusal } from './errors.js'
import { peerIdOfCertificate } from './peer-id.js'
import type { RevocationList } from './revocation.js'
import { type CertificateRole, rolesOfCertificate } from '../pki/roles.js'

/** Longer chains than this are refused: our hierarchy is root -> org -> node. */
const MAX_CHAIN_DEPTH = 6

export interface VerifiedPeer {
  peerId: PeerId
  /** What the leaf certificate allows the peer to do (empty: a roleless certificate). */
  roles: ReadonlySet<CertificateRole>
  leaf: X509Certificate
  /** Leaf up to the top of the verified path (a trust anchor). */
  path: X509Certificate[]
}

export interface CertificateVerifierInit {
  trustAnchors: readonly X509Certificate[]
  revocation: RevocationList
  now?: () => Date
}

export class CertificateVerifier {
  readonly #anchors: X509Certificate[]
  readonly #anchorFingerprints: Set<string>
  readonly revocation: RevocationList
  readonly #now: () => Date

  constructor(init: CertificateVerifierInit) {
    this.#anchors = [...init.trustAnchors]
    this.#anchorFingerprints = new Set(this.#anchors.map((c) => c.fingerprint256))
    this.revocation = init.revocation
    this.#now = init.now ?? (() => new Date())
  }

  get trustAnchors(): readonly X509Certificate[] {
    return this.#anchors
  }

  /**
   * Verifies a chain received from a peer. Throws CertificateRefusedError naming the reason.
   * When `expectedPeer` is given (the PeerId the transport authenticated), the leaf key must match it.
   */
  async verify(chainDer: readonly Uint8Array[], expectedPeer?: PeerId): Promise<VerifiedPeer> {
    const chain = parseChain(chainDer)
    const leaf = chain[0] as X509Certificate
    const peerId = leafPeerId(leaf)
    try {
      if (leaf.ca) {
        throw new CertificateRefusedError('leaf-is-ca', `${describe(leaf)} is a CA certificate, not a node certificate`)
      }
      if (expectedPeer !== undefined && !expectedPeer.equals(peerId)) {
        throw new CertificateRefusedError(
          'peer-id-mismatch',
          `certificate key belongs to ${peerId.toString()}, but the connection authenticated ${expectedPeer.toString()}`,
        )
      }
      const path = this.#buildPath(leaf, chain.slice(1))
      await this.#checkPath(path)
      return { peerId, roles: rolesOfCertificate(leaf), leaf, path }
    } catch (err) {
      if (isRefusal(err)) {
        err.peerId ??= peerId
      }
      throw err
    }
  }

  /** Re-checks an already verified peer (after a CRL or trust reload): dates, revocation and trust. */
  async recheck(peer: VerifiedPeer): Promise<void> {
    const path = this.#buildPath(peer.leaf, peer.path.slice(1))
    await this.#checkPath(path)
  }

  #buildPath(leaf: X509Certificate, intermediates: X509Certificate[]): X509Certificate[] {
    const pool = [...intermediates, ...this.#anchors]
    const path = [leaf]
    let current = leaf
    while (!isSelfSigned(current)) {
      if (path.length > MAX_CHAIN_DEPTH) {
        throw new CertificateRefusedError('untrusted', `chain of ${describe(leaf)} is longer than ${MAX_CHAIN_DEPTH}`)
      }
      const issuer = pool.find((candidate) => current.checkIssued(candidate) && current.verify(candidate.publicKey))
      if (issuer === undefined) {
        if (this.#anchorFingerprints.has(current.fingerprint256)) {
          break // a trusted intermediate whose own issuer is not in the bundle: trusted as an anchor
        }
        throw new CertificateRefusedError(
          'untrusted',
          `no trusted issuer for ${describe(current)} (issuer "${oneLine(current.issuer)}" is not in the trust bundle)`,
        )
      }
      if (!issuer.ca) {
        throw new CertificateRefusedError('not-a-ca', `${describe(issuer)} signed ${describe(current)} but is not a CA`)
      }
      path.push(issuer)
      current = issuer
    }
    if (!path.some((c) => this.#anchorFingerprints.has(c.fingerprint256))) {
      throw new CertificateRefusedError(
        'untrusted',
        `chain of ${describe(leaf)} ends at "${oneLine(current.subject)}", which is not in the trust bundle`,
      )
    }
    return path
  }

  async #checkPath(path: X509Certificate[]): Promise<void> {
    const now = this.#now()
    for (const certificate of path) {
      const notBefore = new Date(certificate.validFrom)
      const notAfter = new Date(certificate.validTo)
      if (now < notBefore) {
        throw new CertificateRefusedError(
          'not-yet-valid',
          `${describe(certificate)} is valid from ${notBefore.toISOString()}`,
        )
      }
      if (now > notAfter) {
        throw new CertificateRefusedError('expired', `${describe(certificate)} expired at ${notAfter.toISOString()}`)
      }
    }
    for (let i = 0; i + 1 < path.length; i++) {
      const certificate = path[i] as X509Certificate
      if (await this.revocation.isRevoked(certificate, path[i + 1] as X509Certificate)) {
        throw new CertificateRefusedError('revoked', `${describe(certificate)} is revoked by its CA's CRL`)
      }
    }
  }
}

/**
 * The PeerId of the leaf's key. A certificate that parses can still hold a key OpenSSL cannot
 * decode (found by fuzzing: "digital envelope routines::decode error"); that is the peer's
 * malformed certificate, refused as such, not an error of ours.
 */
function leafPeerId(leaf: X509Certificate): PeerId {
  try {
    return peerIdOfCertificate(leaf)
  } catch (err) {
    if (isRefusal(err)) throw err
    throw new CertificateRefusedError('malformed-certificate', `${describe(leaf)}: its public key does not decode (${(err as Error).message})`)
  }
}

function parseChain(chainDer: readonly Uint8Array[]): X509Certificate[] {
  if (chainDer.length === 0) {
    throw new CertificateRefusedError('empty-chain', 'the peer presented no certificate')
  }
  if (chainDer.length > MAX_CHAIN_DEPTH) {
    throw new CertificateRefusedError('untrusted', `the peer presented ${chainDer.length} certificates`)
  }
  return chainDer.map((der, index) => {
    try {
      return new X509Certificate(der)
    } catch (err) {
      throw new CertificateRefusedError('malformed-certificate', `certificate ${index}: ${(err as Error).message}`)
    }
  })
}

function isSelfSigned(certificate: X509Certificate): boolean {
  return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey)
}

function oneLine(name: string): string {
  return name.split('\n').join(', ')
}

/** "CN=worker-1, O=acme (serial 3fa2...)": enough to find the certificate in an inventory. */
export function describe(certificate: X509Certificate): string {
  return `"${oneLine(certificate.subject)}" (serial ${certificate.serialNumber.toLowerCase()})`
}
