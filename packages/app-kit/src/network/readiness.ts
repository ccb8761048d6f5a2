// Role-aware readiness, shared by GET /health/ready and the /hypha/health/1.0.0 protocol so
// that `probe` and the HTTP probe can never disagree.
import type { HealthReport, NodeRole } from '@hypha/network-core'

export interface Readiness {
  ready: boolean
  /** Why the node is not ready (undefined when it is). */
  reason?: string
}

/**
 * gateway: listening. scheduler: listening and connected to a bootstrap peer. worker: the same,
 * plus a relay reservation when it needs one (not publicly reachable).
 */
export function roleReadiness(role: NodeRole, health: HealthReport): Readiness {
  if (!health.listening) return { ready: false, reason: 'the libp2p node is not listening' }
  if (role === 'gateway') return { ready: true }
  if (!health.bootstrapConnected) {
    // a bootstrap peer that refused our certificate is the reason an operator needs to see
    const refusal = health.refusals.find((r) => r.bootstrap)
    if (refusal !== undefined) {
      const who = refusal.by === 'remote' ? `refused by bootstrap peer ${refusal.peerId}` : `bootstrap peer ${refusal.peerId} refused`
      return {
        ready: false,
        reason: `${who} (${refusal.detail.startsWith(refusal.reason) ? refusal.detail : `${refusal.reason}: ${refusal.detail}`}); next attempt in ${Math.ceil(refusal.retryInMs / 1000)} s`,
      }
    }
    return { ready: false, reason: 'not connected to any bootstrap peer' }
  }
  if (role === 'worker' && health.reservationNeeded && !health.reservationHeld) {
    return { ready: false, reason: 'not publicly reachable and holding no relay reservation' }
  }
  return { ready: true }
}
