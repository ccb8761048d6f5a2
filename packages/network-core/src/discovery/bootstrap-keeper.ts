// Keeps the node connected to its bootstrap peers. @libp2p/bootstrap dials each once at start and
// libp2p's reconnect queue only re-dials a keep-alive peer after a connection it had drops, so a
// node whose first dial failed (the gateway not up yet, a starved handshake) stayed alone for
// good. This keeper re-dials every unconnected bootstrap peer with exponential backoff per peer.
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { type RepeatingTask, repeatingTask } from '@libp2p/utils'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'

export interface BootstrapKeeperInit {
  /** Bootstrap multiaddrs, each ending with /p2p/<peer id>. */
  peers: readonly string[]
  /** First retry delay; doubles per failed attempt up to maxRetryMs. @default 1_000 */
  minRetryMs?: number
  /** @default 30_000 */
  maxRetryMs?: number
  /** Time allowed for one dial. @default 10_000 */
  dialTimeoutMs?: number
}

export interface BootstrapKeeperComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

interface Target {
  peerId: PeerId
  addresses: Multiaddr[]
  delayMs: number
  nextAttemptAt: number
  dialing: boolean
}

export class BootstrapKeeper implements Startable {
  readonly #components: BootstrapKeeperComponents
  readonly #log: Logger
  readonly #targets: Target[]
  readonly #minRetryMs: number
  readonly #maxRetryMs: number
  readonly #dialTimeoutMs: number
  /** Looks at every target at least once a second (each has its own backoff within). */
  #ticks: RepeatingTask | undefined
  #stop = new AbortController()

  constructor(components: BootstrapKeeperComponents, init: BootstrapKeeperInit) {
    this.#components = components
    this.#log = components.logger.forComponent('hypha:discovery:bootstrap-keeper')
    this.#minRetryMs = init.minRetryMs ?? 1_000
    this.#maxRetryMs = init.maxRetryMs ?? 30_000
    this.#dialTimeoutMs = init.dialTimeoutMs ?? 10_000
    const byPeer = new Map<string, Target>()
    for (const text of init.peers) {
      const address = multiaddr(text)
      const id = address.getComponents().findLast((c) => c.name === 'p2p')?.value
      if (id === undefined) continue
      const target = byPeer.get(id) ?? { peerId: peerIdFromString(id), addresses: [], delayMs: this.#minRetryMs, nextAttemptAt: 0, dialing: false }
      target.addresses.push(address)
      byPeer.set(id, target)
    }
    this.#targets = [...byPeer.values()]
  }

  readonly [Symbol.toStringTag] = 'hypha:bootstrap-keeper'

  start(): void {
    this.#stop = new AbortController()
    const now = Date.now()
    // @libp2p/bootstrap makes the first dial; the keeper steps in after the first retry delay
    for (const target of this.#targets) target.nextAttemptAt = now + this.#minRetryMs
    if (this.#targets.length === 0) return
    this.#ticks = repeatingTask(() => { this.#tick() }, Math.min(this.#minRetryMs, 1_000))
    this.#ticks.start()
  }

  stop(): void {
    this.#ticks?.stop()
    this.#ticks = undefined
    this.#stop.abort()
  }

  #connected(target: Target): boolean {
    return this.#components.connectionManager.getConnections(target.peerId).some((c) => c.status === 'open')
  }

  #tick(): void {
    const now = Date.now()
    for (const target of this.#targets) {
      if (target.dialing) continue
      if (this.#connected(target)) {
        target.delayMs = this.#minRetryMs
        target.nextAttemptAt = now + this.#minRetryMs
        continue
      }
      if (now < target.nextAttemptAt) continue
      target.dialing = true
      const signal = AbortSignal.any([AbortSignal.timeout(this.#dialTimeoutMs), this.#stop.signal])
      this.#components.connectionManager
        .openConnection(target.addresses, { signal })
        .then(() => {
          this.#log('reconnected to bootstrap peer %p', target.peerId)
          target.delayMs = this.#minRetryMs
        })
        .catch((err: Error) => {
          this.#log('bootstrap peer %p still unreachable, next try in %d ms - %s', target.peerId, target.delayMs, err.message)
          target.delayMs = Math.min(target.delayMs * 2, this.#maxRetryMs)
        })
        .finally(() => {
          target.dialing = false
          target.nextAttemptAt = Date.now() + target.delayMs
        })
    }
  }
}

export function bootstrapKeeper(init: BootstrapKeeperInit): (components: BootstrapKeeperComponents) => BootstrapKeeper {
  return (components) => new BootstrapKeeper(components, init)
}
