// DCUtR (Direct Connection Upgrade through Relay) that really punches TCP from Node. The wire
// protocol is libp2p's (/libp2p/dcutr, CONNECT/SYNC); what differs from @libp2p/dcutr 3.0.28:
// - the addresses exchanged are the TCP addresses remotes observed (identify), which the
//   reuseport transport makes exact (libp2p's address manager drops TCP observations);
// - the punch is dialled from the listen port (reuseport transport, `holePunch: true`) straight
//   through the transport manager, carrying the role: A (dialled through the relay) is the
//   initiator, B (reached through the relay, starts the protocol) the responder. The stock service
//   asks the connection manager, whose dial queue drops `initiator`, so both sides act as TLS
//   client and yamux client and a simultaneous open can never be upgraded;
// - B dials one relay RTT after A, not at the same moment: behind stateful NATs A's first SYN is
//   dropped by B's router and B's SYN then meets A's socket in SYN_SENT (a simultaneous open,
//   roles as above); where nothing drops it (a LAN, loopback, a NAT without a firewall) A's SYN
//   reaches B's listener first and B serves it as an ordinary inbound connection, the same roles;
// - every outcome is an event (metrics, logs), and a peer that could not be punched is not tried
//   again before a back-off (5 s doubling to 5 min), so a symmetric NAT causes no retry storm.
import { setTimeout as delay } from 'node:timers/promises'
import type {
  ComponentLogger,
  Connection,
  IdentifyResult,
  Libp2pEvents,
  Logger,
  PeerId,
  PeerStore,
  Startable,
  Stream,
  TypedEventTarget,
} from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import type { ConnectionManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import { isPrivate, lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { TCP } from '@multiformats/multiaddr-matcher'
import { isCircuitAddress, relayOfAddress } from '../../connection/addresses.js'
import {
  decodeHolePunch,
  encodeHolePunch,
  type HolePunchMessage,
  type HolePunchType,
  InvalidHolePunchMessageError,
  MAX_HOLE_PUNCH_MESSAGE_BYTES,
  parseAddresses,
} from './hole-punch-message.js'
import { setBounded } from './bounded-map.js'
import { TcpObserver } from './tcp-observer.js'

export const DCUTR_PROTOCOL = '/libp2p/dcutr'

/** Every outcome, for metrics that start each series at zero. */
export const HOLE_PUNCH_OUTCOMES = ['direct', 'unilateral', 'no-addresses', 'failed', 'backoff', 'error'] as const satisfies readonly HolePunchOutcome[]

/** How a hole punch (or the unilateral upgrade before it) ended. */
export type HolePunchOutcome =
  /** A direct connection replaced the relayed one by a punch. */
  | 'direct'
  /** B dialled A's public address directly (connection reversal); no punch was needed. */
  | 'unilateral'
  /** One side had no observed TCP address to offer (never identified over a direct link). */
  | 'no-addresses'
  /** Every attempt's dial failed or timed out (a symmetric NAT, a firewall, a lost packet). */
  | 'failed'
  /** The peer failed recently; no attempt was made before its back-off ends. */
  | 'backoff'
  /** The protocol itself failed: a malformed message, a stream reset, the relay went away. */
  | 'error'

export interface HolePunchResult {
  peer: PeerId
  outcome: HolePunchOutcome
  /** 'initiator' = A (dialled through the relay), 'responder' = B (started the upgrade). */
  role: 'initiator' | 'responder'
  attempts: number
  /** From the relayed connection being seen to the outcome. */
  durationMs: number
  /** The direct connection's remote address, on success. */
  address?: string
  /** Why it failed, on failure. */
  reason?: string
}

export interface HolePunchEvents {
  'hole-punch:result': CustomEvent<HolePunchResult>
}

export interface HolePunchInit {
  /** Off: relayed connections stay relayed; the protocol is not offered, so peers do not try. */
  enabled: boolean
  /** Addresses this node may dial or announce (network.exclude_cidrs). */
  allows: (address: Multiaddr) => boolean
  /** One attempt's budget (message exchange and dial). */
  attemptTimeoutMs?: number
  /** Attempts per relayed connection (libp2p's DCUtR spec: 3). */
  attempts?: number
  /** First back-off after a failed upgrade; doubles per failure up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
}

export interface HolePunchComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  transportManager: TransportManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

class HolePunchFailed extends Error {
  constructor(
    readonly outcome: HolePunchOutcome,
    message: string,
  ) {
    super(message)
  }
}

/** Peers a back-off is remembered for, at most. */
const MAX_REMEMBERED_PEERS = 10_000

/** Extra wait of B before its dial (beyond half the relay RTT): keeps A's SYN first on a fast link. */
const MIN_RESPONDER_LAG_MS = 10

export class HolePunch extends TypedEventEmitter<HolePunchEvents> implements Startable {
  readonly #components: HolePunchComponents
  readonly #init: Required<HolePunchInit>
  readonly #log: Logger
  readonly #observer: TcpObserver
  /** Peers in back-off after a failed upgrade: until when, and the last back-off. */
  readonly #backoff = new Map<string, { until: number; ms: number }>()
  /** Relayed connections an upgrade runs on now (one at a time per connection). */
  readonly #running = new Set<string>()
  #topology: string | undefined

  constructor(components: HolePunchComponents, init: HolePunchInit) {
    super()
    this.#components = components
    this.#init = { attemptTimeoutMs: 5_000, attempts: 3, backoffMs: 5_000, maxBackoffMs: 300_000, ...init }
    this.#log = components.logger.forComponent('hypha:nat:hole-punch')
    this.#observer = new TcpObserver({
      connectionManager: components.connectionManager,
      peerStore: components.peerStore,
      allows: this.#init.allows,
      dialTimeoutMs: this.#init.attemptTimeoutMs,
      log: this.#log,
    })
  }

  readonly [Symbol.toStringTag] = '@hypha/hole-punch'

  async start(): Promise<void> {
    if (!this.#init.enabled) return
    this.#components.events.addEventListener('peer:identify', this.#onIdentify)
    await this.#components.registrar.handle(DCUTR_PROTOCOL, (stream, connection) => this.#answer(stream, connection), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
      runOnLimitedConnection: true,
    })
    this.#topology = await this.#components.registrar.register(DCUTR_PROTOCOL, {
      notifyOnLimitedConnection: true,
      onConnect: (_peer, connection) => {
        if (!isCircuitAddress(connection.remoteAddr)) return
        // B is the side the relayed connection came in to; it starts the upgrade
        if (connection.direction === 'inbound') void this.upgrade(connection)
        // A answers it: it gets its own observed address now if it lacks one, not once B asks
        else void this.#ourAddresses(connection, AbortSignal.timeout(this.#init.attemptTimeoutMs)).catch(() => undefined)
      },
    })
  }

  async stop(): Promise<void> {
    if (!this.#init.enabled) return
    this.#components.events.removeEventListener('peer:identify', this.#onIdentify)
    await this.#components.registrar.unhandle(DCUTR_PROTOCOL)
    if (this.#topology !== undefined) this.#components.registrar.unregister(this.#topology)
  }

  /** The TCP addresses remotes saw this node at, newest first (what a CONNECT offers). */
  observedAddresses(): Multiaddr[] {
    return this.#observer.list()
  }

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    this.#observer.onIdentify(evt.detail)
  }

  /**
   * This node's observed TCP addresses for a punch over `relayed`, fetched from its relay when
   * there are none yet (a node that met its relay over QUIC, or whose first dial there failed);
   * empty when none came within `signal`.
   */
  async #ourAddresses(relayed: Connection, signal: AbortSignal): Promise<Multiaddr[]> {
    const relay = relayOfAddress(relayed.remoteAddr)
    if (relay !== undefined) await this.#observer.ensure(peerIdFromString(relay), signal)
    return this.observedAddresses()
  }

  /**
   * As B: upgrades a relayed connection that came in to this node (unilaterally when the peer
   * has a public address, else by a punch). Resolves with the outcome, also sent as an event.
   */
  async upgrade(relayed: Connection): Promise<HolePunchResult> {
    const started = Date.now()
    const peer = relayed.remotePeer
    const finish = (outcome: HolePunchOutcome, attempts: number, extra: Partial<HolePunchResult> = {}): HolePunchResult =>
      this.#report({ peer, outcome, role: 'responder', attempts, durationMs: Date.now() - started, ...extra })
    if (!this.#init.enabled) return finish('error', 0, { reason: 'hole punching is disabled' })
    const backoff = this.#backoff.get(peer.toString())
    if (backoff !== undefined && backoff.until > Date.now()) {
      return finish('backoff', 0, { reason: `failed recently; next attempt in ${backoff.until - Date.now()} ms` })
    }
    if (this.#running.has(relayed.id)) return finish('error', 0, { reason: 'an upgrade already runs on this connection' })
    this.#running.add(relayed.id)
    try {
      const unilateral = await this.#unilateral(relayed)
      if (unilateral !== undefined) return finish('unilateral', 0, { address: unilateral.remoteAddr.toString() })
      let lastReason = ''
      for (let attempt = 1; attempt <= this.#init.attempts; attempt++) {
        if (relayed.status !== 'open') return finish('error', attempt - 1, { reason: 'the relayed connection closed' })
        try {
          const direct = await this.#punchAsResponder(relayed)
          await closeRelayed(relayed, direct)
          return finish('direct', attempt, { address: direct.remoteAddr.toString() })
        } catch (err) {
          lastReason = reasonOf(err)
          this.#log('punch to %p, attempt %d of %d failed - %s', peer, attempt, this.#init.attempts, lastReason)
          if (err instanceof HolePunchFailed && err.outcome !== 'failed') return finish(err.outcome, attempt, { reason: lastReason })
        }
      }
      return finish('failed', this.#init.attempts, { reason: lastReason })
    } finally {
      this.#running.delete(relayed.id)
    }
  }

  #report(result: HolePunchResult): HolePunchResult {
    const key = result.peer.toString()
    if (result.outcome === 'direct' || result.outcome === 'unilateral') this.#backoff.delete(key)
    else if (result.outcome === 'failed' || result.outcome === 'no-addresses') {
      const ms = Math.min(this.#init.maxBackoffMs, (this.#backoff.get(key)?.ms ?? this.#init.backoffMs / 2) * 2)
      // bounded: the oldest back-off goes first (a flood of peers cannot grow it without end)
      setBounded(this.#backoff, key, { until: Date.now() + ms, ms }, MAX_REMEMBERED_PEERS)
    }
    const how = result.outcome === 'direct' || result.outcome === 'unilateral' ? `via ${result.address}` : `(${result.reason})`
    this.#log('%s upgrade with %p: %s after %d attempt(s), %d ms %s', result.role, result.peer, result.outcome, result.attempts, result.durationMs, how)
    this.safeDispatchEvent('hole-punch:result', { detail: result })
    return result
  }

  /** B: dial A directly when it announces a public address (connection reversal). */
  async #unilateral(relayed: Connection): Promise<Connection | undefined> {
    const peer = await this.#components.peerStore.get(relayed.remotePeer).catch(() => undefined)
    const addresses = (peer?.addresses ?? [])
      .map((a) => a.multiaddr)
      .filter((a) => !isCircuitAddress(a) && !isPrivate(a) && this.#init.allows(a))
      .filter((a) => this.#components.transportManager.dialTransportForMultiaddr(a) !== undefined)
    if (addresses.length === 0) return undefined
    try {
      const connection = await this.#components.connectionManager.openConnection(
        addresses.map((a) => a.encapsulate(`/p2p/${relayed.remotePeer.toString()}`)),
        { force: true, signal: AbortSignal.timeout(this.#init.attemptTimeoutMs) },
      )
      if (isCircuitAddress(connection.remoteAddr)) return undefined
      await closeRelayed(relayed, connection)
      return connection
    } catch (err) {
      this.#log('unilateral upgrade to %p failed - %s', relayed.remotePeer, reasonOf(err))
      return undefined
    }
  }

  /** B: CONNECT, CONNECT back, SYNC, then dial A one RTT after A was told to dial. */
  async #punchAsResponder(relayed: Connection): Promise<Connection> {
    const signal = AbortSignal.timeout(this.#init.attemptTimeoutMs)
    const ours = await this.#ourAddresses(relayed, signal)
    if (ours.length === 0) throw new HolePunchFailed('no-addresses', 'this node has no observed TCP address to offer')
    const stream = await relayed.newStream(DCUTR_PROTOCOL, { signal, runOnLimitedConnection: true })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HOLE_PUNCH_MESSAGE_BYTES })
      const sentAt = Date.now()
      await lp.write(encodeHolePunch({ type: 'CONNECT', observedAddresses: ours.map((a) => a.bytes) }), { signal })
      const theirs = this.#punchTargets(await readMessage(lp, 'CONNECT', signal), relayed.remotePeer)
      const rtt = Date.now() - sentAt
      await lp.write(encodeHolePunch({ type: 'SYNC', observedAddresses: [] }), { signal })
      await stream.close({ signal }).catch(() => undefined)
      // A dials on receiving SYNC, half an RTT from now; we dial half an RTT after that
      await delay(rtt + MIN_RESPONDER_LAG_MS, undefined, { signal })
      return await this.#dial(relayed.remotePeer, theirs, false, signal)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** A: answer B's CONNECT with ours, wait for SYNC, dial at once. */
  async #answer(stream: Stream, relayed: Connection): Promise<void> {
    const started = Date.now()
    const signal = AbortSignal.timeout(this.#init.attemptTimeoutMs)
    const peer = relayed.remotePeer
    const finish = (outcome: HolePunchOutcome, extra: Partial<HolePunchResult> = {}): void => {
      this.#report({ peer, outcome, role: 'initiator', attempts: 1, durationMs: Date.now() - started, ...extra })
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HOLE_PUNCH_MESSAGE_BYTES })
      const theirs = this.#punchTargets(await readMessage(lp, 'CONNECT', signal), peer)
      // usually at hand; when fetched first, B's RTT estimate grows by the fetch, which only
      // delays B's SYN: A's connect stays in SYN_SENT (retransmitting) until it comes
      const ours = await this.#ourAddresses(relayed, signal)
      await lp.write(encodeHolePunch({ type: 'CONNECT', observedAddresses: ours.map((a) => a.bytes) }), { signal })
      if (ours.length === 0) throw new HolePunchFailed('no-addresses', 'this node has no observed TCP address to offer')
      await readMessage(lp, 'SYNC', signal)
      const direct = await this.#dial(peer, theirs, true, signal)
      await closeRelayed(relayed, direct)
      finish('direct', { address: direct.remoteAddr.toString() })
    } catch (err) {
      stream.abort(err as Error)
      finish(err instanceof HolePunchFailed ? err.outcome : signal.aborted ? 'failed' : 'error', { reason: reasonOf(err) })
    }
  }

  /** The TCP addresses of a CONNECT this node can punch to, with the peer id appended. */
  #punchTargets(message: HolePunchMessage, peer: PeerId): Multiaddr[] {
    const targets = parseAddresses(message.observedAddresses)
      .filter((a) => TCP.exactMatch(a) && this.#init.allows(a))
      .map((a) => a.encapsulate(`/p2p/${peer.toString()}`))
    if (targets.length === 0) throw new HolePunchFailed('no-addresses', 'the peer offered no TCP address to punch to')
    return targets
  }

  /**
   * Dials every target from the listen port at once; the first upgraded connection wins. A dial
   * refused because the port already has a connection to that address means the peer's SYN came
   * in through our listener: that inbound connection is the direct one, wait for it.
   */
  async #dial(peer: PeerId, targets: Multiaddr[], initiator: boolean, signal: AbortSignal): Promise<Connection> {
    const { transportManager } = this.#components
    const attempts = targets.map(async (target) => {
      try {
        return await transportManager.dial(target, { signal, initiator, holePunch: true } as Parameters<TransportManager['dial']>[1])
      } catch (err) {
        if ((err as Error).name === 'TupleInUseError') return this.#directConnection(peer, signal)
        throw err
      }
    })
    try {
      return await Promise.any(attempts)
    } catch (err) {
      if (signal.aborted) {
        throw new HolePunchFailed('failed', `no answer from ${targets.map(String).join(', ')} within ${this.#init.attemptTimeoutMs} ms (the NATs dropped the punch)`)
      }
      const errors = err instanceof AggregateError ? err.errors : [err]
      throw new HolePunchFailed('failed', errors.map(reasonOf).join('; '))
    }
  }

  /** Resolves with a direct connection to `peer` once one is open (polled: no event says "upgraded"). */
  async #directConnection(peer: PeerId, signal: AbortSignal): Promise<Connection> {
    for (;;) {
      const direct = this.#components.connectionManager.getConnections(peer).find((c) => !isCircuitAddress(c.remoteAddr) && c.status === 'open')
      if (direct !== undefined) return direct
      await delay(20, undefined, { signal })
    }
  }
}

async function readMessage(lp: ReturnType<typeof lpStream>, expected: HolePunchType, signal: AbortSignal): Promise<HolePunchMessage> {
  const message = decodeHolePunch((await lp.read({ signal })).subarray())
  if (message.type !== expected) throw new InvalidHolePunchMessageError(`expected ${expected}, got ${message.type}`)
  return message
}

/** Closes the relayed connection once the direct one is in place (streams on it finish first). */
async function closeRelayed(relayed: Connection, direct: Connection): Promise<void> {
  if (direct.id === relayed.id || relayed.status !== 'open') return
  await relayed.close({ signal: AbortSignal.timeout(5_000) }).catch(() => relayed.abort(new Error('closing after the direct upgrade')))
}

function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.name === 'Error' ? err.message : `${err.name}: ${err.message}`
  return String(err)
}

export function holePunch(init: HolePunchInit): (components: HolePunchComponents) => HolePunch {
  return (components) => new HolePunch(components, init)
}
