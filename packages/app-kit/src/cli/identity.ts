// The node identity the config names (mtls mode), or undefined (open mode).
import { NodeIdentity, type SecurityLog } from '@hypha/mtls'
import type { NetworkConfig } from '@hypha/network-core'

export async function loadIdentity(
  config: NetworkConfig,
  options: { watch: boolean; log: SecurityLog },
): Promise<NodeIdentity | undefined> {
  const { security } = config
  if (security.mode !== 'mtls') return undefined
  if (security.cert === undefined || security.key === undefined || security.trust === undefined) {
    // loadConfig already refuses this; kept for configs built by hand
    throw new Error('security.mode = "mtls" needs security.cert, security.key and security.trust')
  }
  return NodeIdentity.load({ cert: security.cert, key: security.key, trust: security.trust, crl: security.crl }, options)
}
