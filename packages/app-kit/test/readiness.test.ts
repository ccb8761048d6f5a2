// Role-aware readiness: what /health/ready and the health protocol both report.
import type { HealthReport } from '@hypha/network-core'
import { roleReadiness } from '../src/network/readiness.js'

const healthy: HealthReport = {
  listening: true,
  bootstrapConnected: true,
  dhtRoutingTableSize: 0,
  reservationNeeded: false,
  reservationHeld: false,
  refusals: [],
}

describe('roleReadiness', () => {
  it('gateway: ready once listening, whatever its peers', () => {
    expect(roleReadiness('gateway', { ...healthy, bootstrapConnected: false }).ready).toBe(true)
    expect(roleReadiness('gateway', { ...healthy, listening: false })).toEqual({ ready: false, reason: 'the libp2p node is not listening' })
  })
  it('scheduler: needs a bootstrap peer', () => {
    expect(roleReadiness('scheduler', healthy).ready).toBe(true)
    expect(roleReadiness('scheduler', { ...healthy, bootstrapConnected: false }).reason).toContain('bootstrap')
  })
  it('names the bootstrap peer that refused the certificate, and when it is tried again', () => {
    const refusals = [
      { peerId: '12D3KooWother', by: 'remote' as const, reason: 'untrusted', detail: 'x', retryInMs: 100, bootstrap: false },
      { peerId: '12D3KooWgateway', by: 'remote' as const, reason: 'expired', detail: 'certificate expired at 2026-01-01', retryInMs: 31_500, bootstrap: true },
    ]
    expect(roleReadiness('worker', { ...healthy, bootstrapConnected: false, refusals }).reason).toBe(
      'refused by bootstrap peer 12D3KooWgateway (expired: certificate expired at 2026-01-01); next attempt in 32 s',
    )
    const ours = [{ peerId: '12D3KooWgateway', by: 'local' as const, reason: 'untrusted', detail: 'issuer not in the trust bundle', retryInMs: 900, bootstrap: true }]
    expect(roleReadiness('worker', { ...healthy, bootstrapConnected: false, refusals: ours }).reason).toBe(
      'bootstrap peer 12D3KooWgateway refused (untrusted: issuer not in the trust bundle); next attempt in 1 s',
    )
  })
  it('worker: needs a reservation only when it needs one', () => {
    expect(roleReadiness('worker', { ...healthy, reservationNeeded: true, reservationHeld: true }).ready).toBe(true)
    expect(roleReadiness('worker', { ...healthy, reservationNeeded: true }).reason).toContain('relay reservation')
    expect(roleReadiness('scheduler', { ...healthy, reservationNeeded: true }).ready).toBe(true)
  })
})
