// Refusals cost nothing twice. Both sides of a refusal remember it, and the connection gater acts
// on the memory before any handshake work:
// - a refusal either way (the remote refused our certificate, or we refused its: another CA
//   refuses both ways): that peer is not dialled again before a back-off (retryMin doubling to
//   retryMax, +-20% jitter, reset once a handshake with it succeeds); each step is one log line
//   naming the peer, who refused and why, and the state is readable (health, metrics).
// - a remote WE refused: its peer id is in a cool-down (its connections are dropped after the
//   handshake, before admission work), and an address that was refused `addressThreshold` times
//   within a cool-down is dropped before the TLS handshake for the cool-down. Relayed connections
//   are judged by peer only (their address is the relay's). A peer that renews its certificate
//   and is admitted is forgotten at once; a reload of our own identity (certificate, trust, CRLs)
//   clears the whole memory.
// Memory is bounded: at most `maxEntries` peers and addresses each, oldest first out.
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { NodeIdentity, PeerRefusal } from '../identity/node-identity.js'
import type { VerifiedPeer } from '../verify/chain-verifier.js'

export interface RefusalMemoryInit {
  /** First wait before dialling a peer that refused us again. @default 1000 */
  retryMinMs?: number
  /** @default 300000 (5 min) */
  retryMaxMs?: number
  /** How long a peer or address we refused is dropped without a handshake. @default 60000 */
  coolDownMs?: number
  /** Refusals of one address within a cool-down before the address itself is dropped (a peer that
   *  backs off as ours do stays below it; a flood, or many refused peers behind one IP, does not). @default 10 */
  addressThreshold?: number
  /** @default 10000 */
  maxEntries?: number
  now?: () => number
  random?: () => number
}

/** A peer a refusal stands between (either side refused), and when it will be dialled again. */
export interface RefusedBy {
  peerId: string
  /** 'remote': the peer refused our certificate; 'local': we refused its. */
  by: 'local' | 'remote'
  reason: string
  detail: string
  /** Refusals in a row. */
  refusals: number
  retryAt: number
}

export type DropPoint = 'dial' | 'inbound-address' | 'inbound-peer'

export interface RefusalMemoryComponents {
  logger: ComponentLogger
}

/** Refusal reasons that say the exchange failed, not that a certificate was judged. */
const NOT_A_VERDICT = new Set(['protocol-error', 'tls-handshake', 'admission-timeout'])

interface CoolDown {
  until: number
  /** Refusal times inside the current window (addresses only). */
  hits: number[]
}

export class RefusalMemory implements Startable {
  readonly #identity: NodeIdentity
  readonly #log: Logger
  readonly #init: Required<Omit<RefusalMemoryInit, 'now' | 'random'>>
  readonly #now: () => number
  readonly #random: () => number
  readonly #refusedBy = new Map<string, RefusedBy>()
  readonly #peers = new Map<string, CoolDown>()
  readonly #addresses = new Map<string, CoolDown>()
  readonly #dropped: Record<DropPoint, number> = { dial: 0, 'inbound-address': 0, 'inbound-peer': 0 }

  constructor(identity: NodeIdentity, components: RefusalMemoryComponents, init: RefusalMemoryInit = {}) {
    this.#identity = identity
    this.#log = components.logger.forComponent('hypha:mtls:refusals')
    this.#init = {
      retryMinMs: init.retryMinMs ?? 1_000,
      retryMaxMs: init.retryMaxMs ?? 300_000,
      coolDownMs: init.coolDownMs ?? 60_000,
      addressThreshold: init.addressThreshold ?? 10,
      maxEntries: init.maxEntries ?? 10_000,
    }
    this.#now = init.now ?? Date.now
    this.#random = init.random ?? Math.random
  }

  readonly [Symbol.toStringTag] = '@hypha/mtls-refusals'

  start(): void {
    this.#identity.addEventListener('peer:refused', this.#onRefused)
    this.#identity.addEventListener('peer:verified', this.#onVerified)
    this.#identity.addEventListener('reloaded', this.#onReloaded)
  }

  stop(): void {
    this.#identity.removeEventListener('peer:refused', this.#onRefused)
    this.#identity.removeEventListener('peer:verified', this.#onVerified)
    this.#identity.removeEventListener('reloaded', this.#onReloaded)
  }

  /** New certificate, trust bundle or CRLs: earlier verdicts, ours and theirs, may no longer hold. */
  readonly #onReloaded = (): void => {
    if (this.#refusedBy.size + this.#peers.size + this.#addresses.size > 0) this.#log('identity reloaded, refusal memory cleared')
    this.#refusedBy.clear()
    this.#peers.clear()
    this.#addresses.clear()
  }

  readonly #onRefused = (evt: CustomEvent<PeerRefusal>): void => this.record(evt.detail)

  readonly #onVerified = (evt: CustomEvent<{ peer: VerifiedPeer }>): void => {
    const key = evt.detail.peer.peerId.toString()
    if (this.#refusedBy.delete(key)) this.#log('%s admitted us again, back-off cleared', key)
    this.#peers.delete(key)
  }

  /** Takes one refusal into account (the identity's 'peer:refused' events call this). */
  record(refusal: PeerRefusal): void {
    // a handshake that broke off (a reset, a timeout, a connection closed mid-admission) is not a
    // verdict on the certificate: the bootstrap keeper's own back-off covers unreachable peers
    if (NOT_A_VERDICT.has(refusal.reason)) return
    const now = this.#now()
    if (refusal.peerId !== undefined) this.#backOff(refusal, refusal.peerId, now)
    if (refusal.by === 'remote') return
    const until = now + this.#init.coolDownMs
    if (refusal.peerId !== undefined) setBounded(this.#peers, refusal.peerId, { until, hits: [] }, this.#init.maxEntries)
    const address = hostOf(refusal.remoteAddr)
    if (address === undefined) return
    const entry = this.#addresses.get(address) ?? { until: 0, hits: [] }
    entry.hits = [...entry.hits.filter((t) => t > now - this.#init.coolDownMs), now]
    if (entry.hits.length >= this.#init.addressThreshold) entry.until = until
    setBounded(this.#addresses, address, entry, this.#init.maxEntries)
  }

  #backOff(refusal: PeerRefusal, peerId: string, now: number): void {
    const previous = this.#refusedBy.get(peerId)
    // one attempt can end in two refusals (another CA: both sides refuse): one step
    if (previous !== undefined && previous.retryAt > now) return
    const refusals = (previous?.refusals ?? 0) + 1
    const base = Math.min(this.#init.retryMaxMs, this.#init.retryMinMs * 2 ** Math.min(refusals - 1, 30))
    const wait = Math.round(base * (0.8 + 0.4 * this.#random()))
    const entry: RefusedBy = { peerId, by: refusal.by, reason: refusal.reason, detail: refusal.detail, refusals, retryAt: now + wait }
    setBounded(this.#refusedBy, peerId, entry, this.#init.maxEntries)
    this.#identity.log.warn('not dialling a peer again before its back-off', {
      peerId,
      refusedBy: refusal.by === 'remote' ? 'the peer' : 'this node',
      reason: refusal.reason,
      refusals,
      retryInMs: wait,
    })
  }

  /** The back-off in force for dialling `peer` (it refused us recently), if any. */
  dialBackoff(peer: PeerId): RefusedBy | undefined {
    const entry = this.#refusedBy.get(peer.toString())
    return entry !== undefined && entry.retryAt > this.#now() ? entry : undefined
  }

  /** Every peer a refusal stands between that has not been admitted since (retryAt may have passed). */
  refusedBy(): RefusedBy[] {
    return [...this.#refusedBy.values()]
  }

  inboundPeerBlocked(peer: PeerId): boolean {
    const entry = this.#peers.get(peer.toString())
    return entry !== undefined && entry.until > this.#now()
  }

  /** Whether an inbound connection from `remoteAddr` is dropped before its handshake. */
  inboundAddressBlocked(remoteAddr: Multiaddr): boolean {
    if (remoteAddr.getComponents().some((c) => c.name === 'p2p-circuit')) return false
    const host = hostOf(remoteAddr.toString())
    const entry = host === undefined ? undefined : this.#addresses.get(host)
    return entry !== undefined && entry.until > this.#now()
  }

  /** Counts an attempt the gater dropped because of this memory. */
  dropped(point: DropPoint): void {
    this.#dropped[point]++
  }

  /** Attempts dropped so far, by where (for metrics). */
  droppedCounts(): Readonly<Record<DropPoint, number>> {
    return { ...this.#dropped }
  }
}

/** The IP of /ip4|ip6/<ip>/... (undefined for other or missing addresses). */
function hostOf(address: string | undefined): string | undefined {
  const match = address === undefined ? null : /^\/ip[46]\/([^/]+)\//.exec(address)
  return match?.[1]
}

function setBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) map.delete(map.keys().next().value as string)
}

export function refusalMemory(identity: NodeIdentity, init: RefusalMemoryInit = {}): (components: RefusalMemoryComponents) => RefusalMemory {
  return (components) => new RefusalMemory(identity, components, init)
}
