import type { PeerId } from '@libp2p/interface'

// Why a certificate chain was refused. The reason is a stable code (for logs and metrics);
// the message adds the detail a human needs (which certificate, which date).

export type RefusalReason =
  | 'empty-chain'
  | 'malformed-certificate'
  | 'unsupported-key'
  | 'untrusted'
  | 'not-a-ca'
  | 'leaf-is-ca'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'peer-id-mismatch'
  | 'key-mismatch'
  | 'tls-handshake'
  | 'admission-timeout'
  | 'refused-by-remote'
  | 'protocol-error'

export class CertificateRefusedError extends Error {
  static override readonly name = 'CertificateRefusedError'
  override readonly name = 'CertificateRefusedError'
  /** The peer the refused certificate belongs to, when its leaf could be read. */
  peerId?: PeerId
  constructor(
    readonly reason: RefusalReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`)
  }
}

export class KeyChangedError extends Error {
  static override readonly name = 'KeyChangedError'
  override readonly name = 'KeyChangedError'
}

export function isRefusal(err: unknown): err is CertificateRefusedError {
  return err instanceof Error && err.name === 'CertificateRefusedError'
}
