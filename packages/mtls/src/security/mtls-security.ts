// Everything a libp2p node needs to enforce the organisation's PKI, in one bundle to spread
// into createLibp2p's options: the TLS encrypter (TCP, relayed), QUIC admission, the
// revocation sweeper and the connection gater. The node's private key must be identity.privateKey.
import type { ConnectionEncrypter, ConnectionGater } from '@libp2p/interface'
import type { NodeIdentity } from '../identity/node-identity.js'
import { type MtlsAdmission, type MtlsAdmissionComponents, type MtlsAdmissionInit, mtlsAdmission } from './admission.js'
import { mtlsConnectionGater } from './connection-gater.js'
import { type MtlsEncrypterComponents, mtlsEncrypter } from './mtls-encrypter.js'
import { type RefusalMemory, type RefusalMemoryComponents, type RefusalMemoryInit, RefusalMemory as RefusalMemoryClass } from './refusal-memory.js'
import { type RevocationSweeper, type RevocationSweeperComponents, revocationSweeper } from './revocation-sweeper.js'

export interface MtlsSecurity {
  connectionEncrypters: Array<(components: MtlsEncrypterComponents) => ConnectionEncrypter>
  connectionGater: ConnectionGater
  services: {
    mtlsAdmission: (components: MtlsAdmissionComponents) => MtlsAdmission
    mtlsSweeper: (components: RevocationSweeperComponents) => RevocationSweeper
    mtlsRefusals: (components: RefusalMemoryComponents) => RefusalMemory
  }
}

export interface MtlsSecurityInit extends MtlsAdmissionInit {
  refusals?: RefusalMemoryInit
}

export function mtlsSecurity(identity: NodeIdentity, init: MtlsSecurityInit = {}): MtlsSecurity {
  const { refusals: refusalInit, ...admissionInit } = init
  // the gater consults the node's refusal memory, which libp2p creates with the services
  let refusals: RefusalMemory | undefined
  return {
    connectionEncrypters: [mtlsEncrypter(identity)],
    connectionGater: mtlsConnectionGater(identity, () => refusals),
    services: {
      mtlsAdmission: mtlsAdmission(identity, admissionInit),
      mtlsSweeper: revocationSweeper(identity),
      mtlsRefusals: (components) => {
        refusals = new RefusalMemoryClass(identity, components, refusalInit)
        return refusals
      },
    },
  }
}
