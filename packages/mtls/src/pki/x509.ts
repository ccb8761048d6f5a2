// The one place that configures @peculiar/x509: it needs reflect-metadata loaded first and a
// WebCrypto provider; every module of this package imports x509 from here.
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

export { x509 }
export const subtle = webcrypto.subtle
export const ED25519 = { name: 'Ed25519' } as const
