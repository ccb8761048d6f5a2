// Holds relay reservations while the node needs them: always when reachability = "private",
// never when "public", and under "auto" while the node has no public (non-relayed) address
// that AutoNAT or configuration confirmed. It listens on `<relay>/p2p-circuit` for a connected
// relay it chose, never on a bare /p2p-circuit: that makes the circuit transport search for
// relays with a DHT random walk which, on a small network, spins without yielding and freezes
// the process. Because js-libp2p never re-reserves after a relay restart (js-libp2p #3601), a
// node that needs a reservation but has shown no circuit address for two checks listens again.
import type { ComponentLogger, Libp2pEvents, Logger, PeerId, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, TransportManager } from '@libp2p/interface-internal'
import { isPrivate, type RepeatingTask, repeatingTask } from '@libp2p/utils'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { isCircuitAddress, RELAY_HOP_PROTOCOL } from '../connection/addresses.js'

export type Reachability = 'auto' | 'public' | 'private'

export interface ReservationKeeperInit {
  reachability: Reachability
  checkIntervalMs: number
  /** Cap on extra listeners opened to recover lost reservations (each one is a reservation attempt). */
  maxRecoveries?: number
  /** Whether a connected relay may be reserved on (its role): false skips it. @default every relay */
  mayReserveOn?: (peer: PeerId) => boolean
}

export interface ReservationKeeperComponents {
  transportManager: TransportManager
  addressManager: AddressManager
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface ReservationKeeperEvents {
  'reservation:held': CustomEvent<Multiaddr[]>
  'reservation:lost': CustomEvent<void>
}

const CIRCUIT = multiaddr('/p2p-circuit')
const QUICK_RETRY_MS = 250
const MAX_QUICK_RETRIES = 6

export class ReservationKeeper extends TypedEventEmitter<ReservationKeeperEvents> implements Startable {
  readonly #components: ReservationKeeperComponents
  readonly #init: Required<ReservationKeeperInit>
  readonly #log: Logger
  /** The periodic check, every checkIntervalMs from start. */
  #checks: RepeatingTask | undefined
  /** One early check after a refused reservation (see check()). */
  #quickRetry: NodeJS.Timeout | undefined
  #listening = false
  #missedChecks = 0
  #recoveries = 0
  #held = false
  /** Listen failures retried before the next periodic check (reset by a success). */
  #quickRetries = 0

  constructor(components: ReservationKeeperComponents, init: ReservationKeeperInit) {
    super()
    this.#components = components
    this.#init = { maxRecoveries: 20, mayReserveOn: () => true, ...init }
    this.#log = components.logger.forComponent('hypha:nat:reservations')
  }

  start(): void {
    this.#components.events.addEventListener('peer:identify', this.#onIdentify)
  }

  readonly #onIdentify = (): void => {
    if (!this.#listening) this.check().catch((err: unknown) => this.#log.error('reservation check failed - %e', err))
  }

  afterStart(): void {
    this.#checks = repeatingTask(async () => {
      await this.check().catch((err: unknown) => this.#log.error('reservation check failed - %e', err))
    }, this.#init.checkIntervalMs, { runImmediately: true })
    this.#checks.start()
  }

  stop(): void {
    this.#components.events.removeEventListener('peer:identify', this.#onIdentify)
    this.#checks?.stop()
    clearTimeout(this.#quickRetry)
  }

  /** Relayed addresses this node currently advertises. */
  circuitAddresses(): Multiaddr[] {
    return this.#components.addressManager.getAddresses().filter(isCircuitAddress)
  }

  /** Whether this node should hold a relay reservation now. */
  needsReservation(): boolean {
    if (this.#init.reachability !== 'auto') return this.#init.reachability === 'private'
    const direct = this.#components.addressManager.getAddresses().filter((a) => !isCircuitAddress(a))
    return !direct.some((a) => !isPrivate(a))
  }

  get holdsReservation(): boolean {
    return this.#held
  }

  async check(): Promise<void> {
    if (!this.needsReservation()) return
    if (!this.#listening) {
      const relay = await this.connectedRelay()
      if (relay === undefined) return
      this.#listening = true
      try {
        await this.#listen(relay)
        this.#quickRetries = 0
      } catch (err) {
        // The circuit transport's own relay discovery queues a reservation on the same relay as
        // soon as identify shows it, and our listen joins that job and gets its "HadEnoughRelays"
        // refusal. Waiting for two checks made a NATed node take ~20 s to be ready: retry soon.
        this.#listening = false
        if (this.#quickRetries < MAX_QUICK_RETRIES) {
          const wait = Math.min(this.#init.checkIntervalMs, QUICK_RETRY_MS * 2 ** this.#quickRetries++)
          this.#log('reserving on %a failed (%s), again in %d ms', relay, (err as Error).message.split('\n')[0], wait)
          clearTimeout(this.#quickRetry)
          this.#quickRetry = setTimeout(() => this.check().catch((e: unknown) => this.#log.error('reservation check failed - %e', e)), wait)
          this.#quickRetry.unref()
        } else throw err
      }
      return
    }
    const circuits = this.circuitAddresses()
    if (circuits.length > 0) {
      this.#missedChecks = 0
      if (!this.#held) this.safeDispatchEvent('reservation:held', { detail: circuits })
      this.#held = true
      return
    }
    if (this.#held) this.safeDispatchEvent('reservation:lost')
    this.#held = false
    this.#missedChecks++
    if (this.#missedChecks >= 2 && this.#recoveries < this.#init.maxRecoveries) {
      const relay = await this.connectedRelay()
      if (relay === undefined) return // wait for a relay to connect again (bootstrap redials it)
      this.#missedChecks = 0
      this.#recoveries++
      this.#log('no relay reservation for two checks, reserving on %a again (attempt %d)', relay, this.#recoveries)
      await this.#listen(relay)
    }
  }

  /** The address of a directly connected peer that offers the relay (hop) protocol, if any. */
  async connectedRelay(): Promise<Multiaddr | undefined> {
    for (const connection of this.#components.connectionManager.getConnections()) {
      if (isCircuitAddress(connection.remoteAddr)) continue
      // only a gateway serves hops for others (connection/relay-roles.ts)
      if (!this.#init.mayReserveOn(connection.remotePeer)) continue
      const peer = await this.#components.peerStore.get(connection.remotePeer).catch(() => undefined)
      if (peer?.protocols.includes(RELAY_HOP_PROTOCOL) === true) {
        const address = connection.remoteAddr
        const withPeer = address.getComponents().some((c) => c.name === 'p2p')
          ? address
          : address.encapsulate(`/p2p/${connection.remotePeer.toString()}`)
        return withPeer
      }
    }
    return undefined
  }

  async #listen(relay: Multiaddr): Promise<void> {
    await this.#components.transportManager.listen([relay.encapsulate(CIRCUIT)])
  }
}

export function reservationKeeper(init: ReservationKeeperInit): (components: ReservationKeeperComponents) => ReservationKeeper {
  return (components) => new ReservationKeeper(components, init)
}
