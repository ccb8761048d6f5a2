// Role-aware readiness: what /health/ready and the health protocol both report.
import type { HealthReport } from '@hypha/network-core'
import { roleReadiness } from '../src/network/readiness.js'

const healthy: HealthReport = {
  listening: true,
  bootstrapConnected: true,
  dhtRoutingTableSize: 0,
  reservationNeeded: false,
  reservationHeld: false,
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
  it('worker: needs a reservation only when it needs one', () => {
    expect(roleReadiness('worker', { ...healthy, reservationNeeded: true, reservationHeld: true }).ready).toBe(true)
    expect(roleReadiness('worker', { ...healthy, reservationNeeded: true }).reason).toContain('relay reservation')
    expect(roleReadiness('scheduler', { ...healthy, reservationNeeded: true }).ready).toBe(true)
  })
})
