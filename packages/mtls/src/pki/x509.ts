// The one place that configures @peculiar/x509: it needs reflect-metadata loaded first and a
// WebCrypto provider; every module of this package imports x509 from here. The provider is
// also passed explicitly to every call (`nodeCrypto`): x509's provider is a process-wide
// singleton, and @libp2p/tls replaces it with @peculiar/webcrypto on import, whose key class
// refuses Node's CryptoKeys.
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

export const nodeCrypto = webcrypto as unknown as Crypto
x509.cryptoProvider.set(nodeCrypto)

export { x509 }
export const subtle = webcrypto.subtle
export const ED25519 = { name: 'Ed25519' } as const
