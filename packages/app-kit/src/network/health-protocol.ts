// /hypha/health/1.0.0: a node answers who it is and whether it is ready, over libp2p (mTLS
// admitted peers only). `probe` uses it; container health checks can too.
import { defineProtocol, type HyphaNode, type Protocol } from '@hypha/network-core'
import { z } from 'zod'
import { roleReadiness } from './readiness.js'

export const HEALTH_PROTOCOL_ID = '/hypha/health/1.0.0'

const healthRequest = z.strictObject({})

const healthResponse = z.object({
  role: z.enum(['gateway', 'scheduler', 'worker']),
  peerId: z.string(),
  version: z.string(),
  ready: z.boolean(),
  reason: z.string().optional(),
  health: z.object({
    listening: z.boolean(),
    bootstrapConnected: z.boolean(),
    dhtRoutingTableSize: z.number(),
    reservationNeeded: z.boolean(),
    reservationHeld: z.boolean(),
  }),
  connectedPeers: z.number(),
})

export type HealthRequest = z.infer<typeof healthRequest>
export type HealthAnswer = z.infer<typeof healthResponse>

export const HealthProtocol: Protocol<HealthRequest, HealthAnswer> = defineProtocol(HEALTH_PROTOCOL_ID, {
  request: healthRequest,
  response: healthResponse,
})

export function healthAnswer(node: HyphaNode, version: string): HealthAnswer {
  const health = node.health()
  const readiness = roleReadiness(node.role, health)
  return {
    role: node.role,
    peerId: node.peerId.toString(),
    version,
    ...readiness,
    health,
    connectedPeers: node.connectedPeers().length,
  }
}

/** Registers the health protocol handler on the node (a few at once: it is cheap). */
export async function serveHealthProtocol(node: HyphaNode, version: string): Promise<void> {
  await node.rpc.handle(HealthProtocol.id, HealthProtocol, () => healthAnswer(node, version), { maxConcurrent: 4, timeoutMs: 5_000 })
}
