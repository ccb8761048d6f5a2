// The one place that loads @peculiar/x509 (it needs reflect-metadata first); every module of
// this package imports x509 from here. Node's WebCrypto is passed explicitly to every x509 call
// that does crypto (`nodeCrypto`) and never set as x509's process-wide provider: @libp2p/tls
// sets that singleton to @peculiar/webcrypto for its own keys, and whichever of us set it last
// would break the other when both are loaded (the 'open' security mode uses @libp2p/tls).
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

export const nodeCrypto = webcrypto as unknown as Crypto

export { x509 }
export const subtle = webcrypto.subtle
export const ED25519 = { name: 'Ed25519' } as const
