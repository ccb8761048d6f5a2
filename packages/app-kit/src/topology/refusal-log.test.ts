// The refusal log keeps the newest refusals, newest first, bounded, and counts every one by reason.
import type { PeerRefusal } from '@hypha/mtls'
import { RefusalLog } from './refusal-log.js'

const refusal = (reason: PeerRefusal['reason'], peerId: string): PeerRefusal => ({
  reason,
  detail: `${reason} certificate`,
  via: 'tls',
  by: 'local',
  peerId,
})

describe('RefusalLog', () => {
  it('keeps the newest entries up to its size, newest first, and counts all of them', () => {
    let tick = 0
    const log = new RefusalLog(undefined, 3, () => new Date(Date.UTC(2026, 11, 1, 0, 0, tick++)))
    log.record(refusal('untrusted', 'a'))
    log.record(refusal('expired', 'b'))
    log.record(refusal('untrusted', 'c'))
    log.record(refusal('revoked', 'd'))
    log.record(refusal('untrusted', 'e'))
    expect(log.recent().map((r) => r.peerId)).toEqual(['e', 'd', 'c'])
    expect(log.recent()[0]?.at).toBe('2026-12-01T00:00:04.000Z')
    expect(log.counts()).toEqual({ expired: 1, revoked: 1, untrusted: 3 })
  })
})
