// The workers a scheduler has heard from (status messages, offers, pulls), with their last
// capabilities. Bounded: a scheduler that has seen more than `max` workers forgets the one
// heard from longest ago.
import type { ConnectedPeer } from '@hypha/network-core'
import type { WorkerCapabilities } from '../protocol/messages.js'
import type { WorkerView } from './views.js'

type KnownWorker = Omit<WorkerView, 'connection' | 'direct'>

export class WorkerDirectory {
  readonly #workers = new Map<string, KnownWorker>()
  readonly #max: number

  constructor(max = 10_000) {
    this.#max = max
  }

  /** Records what a worker said of itself. */
  saw(peer: string, capabilities: WorkerCapabilities, now: number): void {
    const worker = { id: peer, ...capabilities, lastSeen: now }
    // re-inserting moves it to the end: the Map's first entry is the one heard from longest ago
    this.#workers.delete(peer)
    this.#workers.set(peer, worker)
    if (this.#workers.size > this.#max) {
      const oldest = this.#workers.keys().next().value
      if (oldest !== undefined) this.#workers.delete(oldest)
    }
  }

  /** One worker's view given the current connections, if it is known. */
  view(peer: string, connected: readonly ConnectedPeer[]): WorkerView | undefined {
    const worker = this.#workers.get(peer)
    return worker === undefined ? undefined : withConnection(worker, new Map(connected.map((p) => [p.id, p])))
  }

  list(connected: readonly ConnectedPeer[]): WorkerView[] {
    const byId = new Map(connected.map((p) => [p.id, p]))
    return [...this.#workers.values()].map((worker) => withConnection(worker, byId))
  }
}

function withConnection(worker: KnownWorker, connected: ReadonlyMap<string, ConnectedPeer>): WorkerView {
  const peer = connected.get(worker.id)
  return { ...worker, connection: peer?.transport ?? 'disconnected', direct: peer?.direct ?? false }
}
