// Reads and cross-checks a node's certificate files: the chain (leaf first), the PKCS#8
// Ed25519 key, the trust bundle and optional CRLs. A key that does not match its leaf
// certificate is refused here, before anything listens.
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { certificatesToPem, decodeCertificates } from '../pki/pem.js'
import { readNamedFile } from '../read-named-file.js'
import { CertificateVerifier } from '../verify/chain-verifier.js'
import { CertificateRefusedError } from '../verify/errors.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import { RevocationList } from '../verify/revocation.js'

export interface IdentityFiles {
  /** PEM: the node certificate first, then the intermediates up to (not including) the root. */
  cert: string
  /** PEM: PKCS#8 Ed25519 private key. */
  key: string
  /** PEM: the CA certificates this node trusts (its organisation CA and root). */
  trust: string
  /** CRL files (PEM or DER), any number. */
  crl?: readonly string[]
}

export interface IdentityMaterial {
  privateKey: Ed25519PrivateKey
  peerId: PeerId
  leaf: X509Certificate
  /** What this node presents: leaf + intermediates, DER. */
  chainDer: Uint8Array[]
  chainPem: string
  keyPem: string
  trustPem: string
  verifier: CertificateVerifier
}

export interface LoadIdentityOptions {
  /**
   * Verify this node's own chain against its trust bundle (default true). Turned off only to
   * build deliberately invalid peers in tests, and by diagnostics.
   */
  checkOwnChain?: boolean
}

export async function loadIdentityMaterial(files: IdentityFiles, options: LoadIdentityOptions = {}): Promise<IdentityMaterial> {
  const [chainText, keyPem, trustText] = await Promise.all([
    readText(files.cert, 'certificate'),
    readText(files.key, 'private key'),
    readText(files.trust, 'trust bundle'),
  ])
  const chainDer = decodeCertificates(chainText)
  if (chainDer.length === 0) {
    throw new Error(`${files.cert}: no PEM CERTIFICATE block found`)
  }
  const leaf = new X509Certificate(chainDer[0] as Uint8Array)
  const trustDer = decodeCertificates(trustText)
  if (trustDer.length === 0) {
    throw new Error(`${files.trust}: no PEM CERTIFICATE block found`)
  }
  const privateKey = await loadEd25519Key(keyPem, files.key)
  const peerId = peerIdOfCertificate(leaf)
  if (!privateKey.publicKey.equals(peerIdPublicKey(peerId))) {
    throw new CertificateRefusedError(
      'key-mismatch',
      `${files.key} does not hold the private key of the certificate in ${files.cert}`,
    )
  }
  const revocation = await RevocationList.fromFiles(files.crl ?? [])
  const verifier = new CertificateVerifier({
    trustAnchors: trustDer.map((der) => new X509Certificate(der)),
    revocation,
  })
  // Our own chain must pass our own verifier: a node with an expired or foreign certificate
  // would otherwise start and be refused by every peer, which is much harder to diagnose.
  try {
    if (options.checkOwnChain !== false) await verifier.verify(chainDer)
  } catch (err) {
    throw new Error(`${files.cert}: this node's own certificate does not verify against ${files.trust}: ${(err as Error).message}`)
  }
  return {
    privateKey,
    peerId,
    leaf,
    chainDer,
    chainPem: certificatesToPem(chainDer),
    keyPem,
    trustPem: certificatesToPem(trustDer),
    verifier,
  }
}

async function loadEd25519Key(pem: string, path: string): Promise<Ed25519PrivateKey> {
  let key: ReturnType<typeof createPrivateKey>
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new Error(`${path}: not a PEM private key (${(err as Error).message})`)
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${path}: expected an Ed25519 key, found ${key.asymmetricKeyType ?? 'unknown'}`)
  }
  const jwk = key.export({ format: 'jwk' })
  const seed = Buffer.from(jwk.d ?? '', 'base64url')
  // libp2p's Ed25519 key is derived from the same 32-byte seed, so it signs with the very key
  // the certificate certifies; the public halves are compared by the caller.
  const derivedPublic = createPublicKey(key).export({ format: 'jwk' }).x
  if (derivedPublic !== jwk.x) {
    throw new Error(`${path}: inconsistent Ed25519 key`)
  }
  return generateKeyPairFromSeed('Ed25519', seed)
}

function peerIdPublicKey(peerId: PeerId): NonNullable<PeerId['publicKey']> {
  if (peerId.publicKey === undefined) {
    throw new Error('PeerId without a public key')
  }
  return peerId.publicKey
}

async function readText(path: string, what: string): Promise<string> {
  return (await readNamedFile(path, what)).toString('utf8')
}
