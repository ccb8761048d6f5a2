// How a node learns the TCP address a punch must target: the NAT mapping of its listen port, as a
// relay saw it (identify's observedAddr over a direct TCP connection). A node that reaches its
// relay over QUIC only is never observed over TCP, so it dials the relay's TCP listener too.
//
// That dial must reach the relay: a relay's announced addresses can be only its loopback ones
// (libp2p announces a public interface address once AutoNAT confirmed it), and a remote's
// 127.0.0.1:4001 dialled from a node listening on 4001 is this node's own listener, a TCP
// self-connect whose TLS handshake fails. So the relay's TCP ports are dialled at the IPs this
// node already reaches it on. A failed or missing observation is fetched again when a punch
// needs one (ensure), not only on the next identify.
import type { IdentifyResult, Logger, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { isLoopback } from '@libp2p/utils'
import { CODE_P2P, type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { TCP } from '@multiformats/multiaddr-matcher'
import { isCircuitAddress, RELAY_HOP_PROTOCOL } from '../../connection/addresses.js'
import { setBounded } from './bounded-map.js'
import { ObservedTcpAddresses } from './observed-addresses.js'

/** A relay met over QUIC is dialled over TCP at most once a minute for an observation (it also keeps the mapping alive). */
const BACKGROUND_REDIAL_MS = 60_000
const MAX_REMEMBERED_RELAYS = 10_000

export interface TcpObserverInit {
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections'>
  peerStore: Pick<PeerStore, 'get'>
  /** Addresses this node may dial or announce (network.exclude_cidrs). */
  allows: (address: Multiaddr) => boolean
  /** Budget of one dial to a relay. */
  dialTimeoutMs: number
  log: Logger
}

export class TcpObserver {
  readonly #init: TcpObserverInit
  readonly #observed = new ObservedTcpAddresses()
  /** When each relay was last dialled in the background (on identify). */
  readonly #backgroundDials = new Map<string, number>()
  /** Dials under way, one per relay: concurrent punches share it. */
  readonly #dialling = new Map<string, Promise<void>>()
  /** Callers of ensure() waiting for the first observation. */
  readonly #waiting = new Set<() => void>()

  constructor(init: TcpObserverInit) {
    this.#init = init
  }

  /** The observed TCP addresses, newest first (what a CONNECT offers). */
  list(): Multiaddr[] {
    return this.#observed.list().filter(this.#init.allows)
  }

  /** identify over a direct connection: records a TCP observation, or goes to get one from a relay. */
  onIdentify(identified: IdentifyResult): void {
    const { observedAddr, connection } = identified
    if (isCircuitAddress(connection.remoteAddr)) return
    if (observedAddr !== undefined && TCP.exactMatch(observedAddr)) {
      this.#observed.record(observedAddr)
      for (const wake of this.#waiting) wake()
      return
    }
    if (this.list().length > 0 || !identified.protocols.includes(RELAY_HOP_PROTOCOL)) return
    const key = identified.peerId.toString()
    const last = this.#backgroundDials.get(key)
    if (last !== undefined && Date.now() - last < BACKGROUND_REDIAL_MS) return
    setBounded(this.#backgroundDials, key, Date.now(), MAX_REMEMBERED_RELAYS)
    void this.#dial(identified.peerId, identified.listenAddrs)
  }

  /**
   * Resolves true once this node has an observed TCP address, dialling `relay` over TCP when it
   * has none; false when none came before `signal` (the relay has no TCP listener, the dial
   * failed). What a punch calls before it offers its addresses.
   */
  async ensure(relay: PeerId, signal: AbortSignal): Promise<boolean> {
    if (this.list().length > 0) return true
    if (signal.aborted) return false
    const known = await this.#init.peerStore.get(relay).catch(() => undefined)
    const observed = new Promise<void>((resolve) => {
      const wake = (): void => {
        if (this.list().length === 0) return
        this.#waiting.delete(wake)
        resolve()
      }
      this.#waiting.add(wake)
      signal.addEventListener(
        'abort',
        () => {
          this.#waiting.delete(wake)
          resolve()
        },
        { once: true },
      )
    })
    void this.#dial(relay, known?.addresses.map((a) => a.multiaddr) ?? [])
    await observed
    return this.list().length > 0
  }

  /** One TCP dial to the relay (shared while it runs); identify on it brings the observation. */
  #dial(relay: PeerId, listenAddrs: readonly Multiaddr[]): Promise<void> {
    const key = relay.toString()
    const running = this.#dialling.get(key)
    if (running !== undefined) return running
    const reachedAt = this.#init.connectionManager
      .getConnections(relay)
      .filter((c) => c.status === 'open' && !isCircuitAddress(c.remoteAddr))
      .map((c) => c.remoteAddr)
    const targets = observationTargets(reachedAt, listenAddrs)
      .filter(this.#init.allows)
      .map((a) => a.encapsulate(`/p2p/${key}`))
    if (targets.length === 0) {
      this.#init.log('relay %p announces no TCP address to be observed at', relay)
      return Promise.resolve()
    }
    const dial = this.#init.connectionManager
      .openConnection(targets, { force: true, signal: AbortSignal.timeout(this.#init.dialTimeoutMs) })
      .then((c) => this.#init.log('dialled relay %p over TCP (%a) to be observed there', relay, c.remoteAddr))
      .catch((err: unknown) =>
        this.#init.log('could not reach relay %p over TCP at %s - %s', relay, targets.join(', '), (err as Error).message),
      )
      .finally(() => this.#dialling.delete(key))
    this.#dialling.set(key, dial)
    return dial
  }
}

/**
 * Where to dial a relay over TCP: its TCP listen ports at the IPs this node already reaches it on
 * (`reachedAt`, the remote addresses of open direct connections), then its other announced TCP
 * addresses, loopback ones only when the relay itself is reached over loopback (a local stack).
 */
export function observationTargets(reachedAt: readonly Multiaddr[], listenAddrs: readonly Multiaddr[]): Multiaddr[] {
  const tcpListen = listenAddrs.map((a) => a.decapsulateCode(CODE_P2P)).filter((a) => TCP.exactMatch(a))
  const ports = [...new Set(tcpListen.map((a) => a.getComponents().find((c) => c.name === 'tcp')?.value))].filter((p) => p !== undefined)
  const hosts = reachedAt.flatMap((a) => {
    const ip = a.getComponents()[0]
    return ip !== undefined && (ip.name === 'ip4' || ip.name === 'ip6') ? [`/${ip.name}/${ip.value}`] : []
  })
  const overLoopback = reachedAt.some((a) => isLoopback(a))
  const candidates = [
    ...[...new Set(hosts)].flatMap((host) => ports.map((port) => multiaddr(`${host}/tcp/${port}`))),
    ...tcpListen.filter((a) => overLoopback || !isLoopback(a)),
  ]
  const seen = new Set<string>()
  return candidates.filter((a) => {
    const key = a.toString()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
