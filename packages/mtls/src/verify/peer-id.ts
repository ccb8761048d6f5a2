// A node's libp2p PeerId is derived from the Ed25519 public key of its leaf certificate.
import type { X509Certificate } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { Ed25519PublicKey, PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { CertificateRefusedError } from './errors.js'

export function ed25519PublicKeyOf(certificate: X509Certificate): Ed25519PublicKey {
  const key = certificate.publicKey
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CertificateRefusedError(
      'unsupported-key',
      `certificate "${certificate.subject.replace(/\n/g, ', ')}" has a ${key.asymmetricKeyType ?? 'unknown'} key; only Ed25519 is accepted`,
    )
  }
  const jwk = key.export({ format: 'jwk' })
  const raw = Buffer.from(jwk.x ?? '', 'base64url')
  return publicKeyFromRaw(raw) as Ed25519PublicKey
}

export function peerIdOfCertificate(certificate: X509Certificate): PeerId {
  return peerIdFromPublicKey(ed25519PublicKeyOf(certificate))
}
