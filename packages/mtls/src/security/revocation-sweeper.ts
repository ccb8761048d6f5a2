// After the identity reloads (new CRL, trust bundle or certificate), re-checks every open
// connection's peer against the new material and closes the ones that no longer pass: a
// revocation takes effect on live connections too, not only on the next handshake.
import type { ComponentLogger, Connection, Logger, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { NodeIdentity } from '../identity/node-identity.js'
import { isRefusal } from '../verify/errors.js'

export interface RevocationSweeperComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export class RevocationSweeper implements Startable {
  readonly [Symbol.toStringTag] = '@hypha/mtls-revocation-sweeper'
  readonly #identity: NodeIdentity
  readonly #components: RevocationSweeperComponents
  readonly #log: Logger

  constructor(identity: NodeIdentity, components: RevocationSweeperComponents) {
    this.#identity = identity
    this.#components = components
    this.#log = components.logger.forComponent('hypha:mtls:sweeper')
  }

  start(): void {
    this.#identity.addEventListener('reloaded', this.#onReloaded)
  }

  stop(): void {
    this.#identity.removeEventListener('reloaded', this.#onReloaded)
  }

  readonly #onReloaded = (): void => {
    this.sweep().catch((err: unknown) => this.#log.error('sweep failed - %e', err))
  }

  /** Closes connections whose peer no longer verifies; resolves with how many were closed. */
  async sweep(): Promise<number> {
    let closed = 0
    for (const connection of this.#components.connectionManager.getConnections()) {
      if (await this.#refuses(connection)) closed++
    }
    return closed
  }

  async #refuses(connection: Connection): Promise<boolean> {
    const peer = this.#identity.peers.verified(connection.remotePeer)
    if (peer === undefined) return false // not verified yet: the handshake or admission will decide
    try {
      await this.#identity.verifier.recheck(peer)
      return false
    } catch (err) {
      if (!isRefusal(err)) throw err
      err.peerId ??= connection.remotePeer
      this.#identity.refusePeer(err, { via: 'recheck', by: 'local', remoteAddr: connection.remoteAddr.toString() })
      connection.abort(err)
      return true
    }
  }
}

export function revocationSweeper(identity: NodeIdentity): (components: RevocationSweeperComponents) => RevocationSweeper {
  return (components) => new RevocationSweeper(identity, components)
}
