// `probe ADDR`: a short-lived node with the same certificates (listening on loopback only, no
// bootstrap, no metrics) asks ADDR over /hypha/health/1.0.0 whether it is ready.
import type { NodeIdentity } from '@hypha/mtls'
import { createNode, type NetworkConfig, type NodeRole } from '@hypha/network-core'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { AppLogger } from '../logging/logger.js'
import { securityLogOf } from '../logging/logger.js'
import { type HealthAnswer, HealthProtocol } from '../network/health-protocol.js'
import { UsageError } from './errors.js'
import { loadIdentity } from './identity.js'

export interface ProbeOptions {
  address: string
  config: NetworkConfig
  role: NodeRole
  timeoutMs: number
  logger: AppLogger
}

export type ProbeOutcome = { answered: true; answer: HealthAnswer } | { answered: false; reason: string }

export function parseTarget(address: string): Multiaddr {
  let target: Multiaddr
  try {
    target = multiaddr(address)
  } catch (err) {
    throw new UsageError(`invalid multiaddr "${address}": ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!target.getComponents().some((c) => c.name === 'p2p')) {
    throw new UsageError(`"${address}" names no peer: it must end with /p2p/<peer id>`)
  }
  return target
}

/** The probe node's configuration: the role's, minus everything that would make it a real member. */
export function probeConfig(config: NetworkConfig): NetworkConfig {
  const { network } = config
  const listen = network.transport.tcpEnabled ? '/ip4/127.0.0.1/tcp/0' : '/ip4/127.0.0.1/udp/0/quic-v1'
  return {
    ...config,
    network: {
      ...network,
      listenAddresses: [listen],
      externalAddresses: [],
      bootstrapPeers: [],
      mdnsEnabled: false,
      dht: { ...network.dht, kademliaMode: 'client' },
      nat: { ...network.nat, reachability: 'public' },
    },
    metrics: { ...config.metrics, enabled: false },
  }
}

export async function probe(options: ProbeOptions): Promise<ProbeOutcome> {
  const target = parseTarget(options.address)
  const identity: NodeIdentity | undefined = await loadIdentity(options.config, { watch: false, log: securityLogOf(options.logger) })
  try {
    const targetId = target.getComponents().findLast((c) => c.name === 'p2p')?.value
    if (identity !== undefined && targetId === identity.peerId.toString()) {
      throw new UsageError(
        `${targetId} is this certificate's own peer id: probe with another node certificate (HYPHA_SECURITY__CERT/KEY) or use GET /health/ready`,
      )
    }
    const node = await createNode(probeConfig(options.config), identity, options.role, { collectDefaultMetrics: false })
    try {
      const answer = await node.rpc.request(target, HealthProtocol.id, HealthProtocol, {}, { timeoutMs: options.timeoutMs })
      return { answered: true, answer }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      return { answered: false, reason: `no answer from ${options.address}: ${e.name}: ${e.message}` }
    } finally {
      await node.stop()
    }
  } finally {
    identity?.close()
  }
}
