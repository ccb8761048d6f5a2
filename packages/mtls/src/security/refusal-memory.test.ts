import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { NodeIdentity, PeerRefusal } from '../identity/node-identity.js'
import { RefusalMemory } from './refusal-memory.js'

const PEER = '12D3KooWG9Z3zPLZVyK1pG9BDZgFN8QKhRWNjue5RPAKssdx6PBW'
const OTHER = '12D3KooWQ27PCAuYamkFFASDLHpGGB8yvcHpMXyV6JyvEruDcDYi'

function memory(init: ConstructorParameters<typeof RefusalMemory>[2] = {}) {
  let now = 1_000_000
  const warnings: Array<Record<string, unknown>> = []
  const identity = { log: { warn: (_m: string, f: Record<string, unknown>) => warnings.push(f), info: () => undefined } } as unknown as NodeIdentity
  const m = new RefusalMemory(identity, { logger: defaultLogger() }, { random: () => 0.5, now: () => now, ...init })
  return { m, warnings, advance: (ms: number) => { now += ms }, at: () => now }
}

const refusal = (by: 'local' | 'remote', extra: Partial<PeerRefusal> = {}): PeerRefusal => ({
  reason: 'untrusted',
  detail: 'untrusted: no trusted issuer',
  via: 'tls',
  by,
  peerId: PEER,
  remoteAddr: '/ip4/203.0.113.7/tcp/4001',
  ...extra,
})

describe('RefusalMemory', () => {
  it('backs dials off exponentially per peer, capped, one log line per step', () => {
    const { m, warnings, advance } = memory({ retryMinMs: 1_000, retryMaxMs: 8_000 })
    const peer = peerIdFromString(PEER)
    const waits: number[] = []
    for (let i = 0; i < 6; i++) {
      m.record(refusal('remote'))
      const entry = m.dialBackoff(peer)
      expect(entry).toBeDefined()
      waits.push(warnings.at(-1)?.retryInMs as number)
      advance(waits.at(-1) as number)
      expect(m.dialBackoff(peer)).toBeUndefined()
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000])
    expect(warnings).toHaveLength(6)
    expect(m.dialBackoff(peerIdFromString(OTHER))).toBeUndefined()
  })

  it('jitters within +-20%', () => {
    for (const [random, expected] of [[0, 800], [1, 1_200]] as const) {
      const { m, warnings } = memory({ retryMinMs: 1_000, random: () => random })
      m.record(refusal('remote'))
      expect(warnings[0]?.retryInMs).toBe(expected)
    }
  })

  it('counts the refusals of one handshake (both sides) as one step', () => {
    const { m, warnings } = memory()
    m.record(refusal('local'))
    m.record(refusal('remote', { reason: 'refused-by-remote', detail: 'untrusted: ...' }))
    expect(warnings).toHaveLength(1)
    expect(m.refusedBy()).toEqual([expect.objectContaining({ reason: 'untrusted', by: 'local', refusals: 1 })])
  })

  it('ignores exchanges that broke off: they judge no certificate', () => {
    const { m } = memory()
    for (const reason of ['protocol-error', 'tls-handshake', 'admission-timeout'] as const) m.record(refusal('local', { reason }))
    expect(m.refusedBy()).toEqual([])
    expect(m.inboundPeerBlocked(peerIdFromString(PEER))).toBe(false)
  })

  it('drops a peer we refused for the cool-down, and an address only once it floods', () => {
    const { m, advance } = memory({ coolDownMs: 60_000, addressThreshold: 3 })
    const from = multiaddr('/ip4/203.0.113.7/tcp/50000')
    m.record(refusal('local'))
    expect(m.inboundPeerBlocked(peerIdFromString(PEER))).toBe(true)
    expect(m.inboundAddressBlocked(from)).toBe(false)
    m.record(refusal('local', { peerId: OTHER }))
    m.record(refusal('local', { peerId: OTHER }))
    expect(m.inboundAddressBlocked(from)).toBe(true)
    // relayed connections carry the relay's address: never judged by it
    expect(m.inboundAddressBlocked(multiaddr(`/ip4/203.0.113.7/tcp/4001/p2p/${OTHER}/p2p-circuit`))).toBe(false)
    advance(60_001)
    expect(m.inboundPeerBlocked(peerIdFromString(PEER))).toBe(false)
    expect(m.inboundAddressBlocked(from)).toBe(false)
  })

  it('forgets a peer once a handshake with it succeeds (a renewed certificate), and everything on a reload', () => {
    const listeners = new Map<string, (evt: CustomEvent) => void>()
    const identity = {
      log: { warn: () => undefined, info: () => undefined },
      addEventListener: (type: string, fn: (evt: CustomEvent) => void) => listeners.set(type, fn),
      removeEventListener: (type: string) => listeners.delete(type),
    } as unknown as NodeIdentity
    const m = new RefusalMemory(identity, { logger: defaultLogger() })
    m.start()
    listeners.get('peer:refused')?.(new CustomEvent('peer:refused', { detail: refusal('remote') }))
    expect(m.dialBackoff(peerIdFromString(PEER))).toBeDefined()
    listeners.get('peer:verified')?.(new CustomEvent('peer:verified', { detail: { peer: { peerId: peerIdFromString(PEER) } } }))
    expect(m.dialBackoff(peerIdFromString(PEER))).toBeUndefined()
    expect(m.refusedBy()).toEqual([])
    // a reload of our own identity (a renewed certificate of ours, new trust or CRLs) forgets all
    listeners.get('peer:refused')?.(new CustomEvent('peer:refused', { detail: refusal('local') }))
    expect(m.inboundPeerBlocked(peerIdFromString(PEER))).toBe(true)
    listeners.get('reloaded')?.(new CustomEvent('reloaded', { detail: { staleCrls: [] } }))
    expect(m.inboundPeerBlocked(peerIdFromString(PEER))).toBe(false)
    expect(m.refusedBy()).toEqual([])
    m.stop()
    expect(listeners.size).toBe(0)
  })

  it('holds at most maxEntries peers, oldest out', () => {
    const { m } = memory({ maxEntries: 2 })
    const ids = [PEER, OTHER, '12D3KooWStAjqbkc7VcGCXpx4yKKG5TgKczKxNEphY1qWTZiHLuP']
    for (const id of ids) m.record(refusal('remote', { peerId: id }))
    expect(m.refusedBy().map((r) => r.peerId)).toEqual(ids.slice(1))
  })
})
