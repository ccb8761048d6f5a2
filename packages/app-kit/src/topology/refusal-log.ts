// The last refusals of this node's security layer (a foreign, expired or revoked peer, or a
// peer that refused us), kept for the operator: the page and `hypha-inspect peers` say who was
// refused, when and why. Bounded: a flood of refused handshakes keeps only the newest entries
// and a count per reason.
import type { NodeIdentity, PeerRefusal } from '@hypha/mtls'

export interface RefusalEntry extends PeerRefusal {
  /** ISO 8601 time of the refusal. */
  at: string
}

export const REFUSAL_LOG_SIZE = 100

export class RefusalLog {
  readonly #entries: RefusalEntry[] = []
  readonly #counts = new Map<string, number>()
  readonly #detach: () => void

  constructor(
    identity: NodeIdentity | undefined,
    private readonly size = REFUSAL_LOG_SIZE,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (identity === undefined) {
      this.#detach = () => undefined
      return
    }
    const listener = (event: CustomEvent<PeerRefusal>): void => this.record(event.detail)
    identity.addEventListener('peer:refused', listener)
    this.#detach = () => identity.removeEventListener('peer:refused', listener)
  }

  record(refusal: PeerRefusal): void {
    this.#entries.push({ ...refusal, at: this.now().toISOString() })
    if (this.#entries.length > this.size) this.#entries.splice(0, this.#entries.length - this.size)
    this.#counts.set(refusal.reason, (this.#counts.get(refusal.reason) ?? 0) + 1)
  }

  /** Newest first. */
  recent(): RefusalEntry[] {
    return [...this.#entries].reverse()
  }

  /** Refusals by reason since the node started (not only the kept ones). */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b)))
  }

  close(): void {
    this.#detach()
  }
}
