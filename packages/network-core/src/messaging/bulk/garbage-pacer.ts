// Frees the buffers a bulk transfer leaves behind as it goes, instead of when V8 gets to them.
//
// Every chunk a transfer moves is a fresh ArrayBuffer: Node allocates one per TLS read on the
// receiving side and one per file read on the sending side, and their memory (malloc'd, outside
// V8's heap) is released only when the collector finds the object dead. Those objects are tiny,
// so the young generation fills slowly and a scavenge rarely comes; what collects them is the
// mark-compact V8 starts once external memory has grown 64 MiB past its last one. Measured on a
// 256 MiB transfer: the receiving process's ArrayBuffers peaked at 54-78 MiB, and glibc's heap
// kept the pages, so its RSS rose by 60-90 MiB. Nearly all of those chunks are dead a moment
// after their bytes reach the file or the socket, so a scavenge (about half a millisecond: the
// young generation holds little that survives) every few MiB of bulk traffic frees them while
// they are still young. It is also faster: the pull of 256 MiB went from ~185 to ~380 MB/s, the
// resumed push from ~120 to ~150 (a working set that stays in cache).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** V8's `gc` function, as `--expose-gc` gives it. */
export type Collect = (options: { type: 'minor'; execution: 'sync' }) => void

/** Bulk bytes, in and out, between two young-generation collections. */
export const COLLECT_EVERY_BYTES = 8 * 1024 * 1024

/**
 * V8's `gc`: the global one when the process was started with --expose-gc, otherwise one taken
 * from a fresh context created while the flag is on for an instant (it exposes `gc` only to
 * contexts made after it is set, so the main context's globals stay as they were). Undefined if
 * V8 refuses, and the pacer then does nothing.
 */
export function v8Collector(): Collect | undefined {
  const exposed = (globalThis as { gc?: Collect }).gc
  if (typeof exposed === 'function') return exposed
  try {
    setFlagsFromString('--expose-gc')
    const collect: unknown = runInNewContext('gc')
    return typeof collect === 'function' ? (collect as Collect) : undefined
  } catch {
    return undefined
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}

export class GarbagePacer {
  readonly #bytesPerCollection: number
  readonly #obtain: () => Collect | undefined
  #collect: Collect | undefined | null = null
  #pending = 0
  #collections = 0

  /** `obtain` is asked for the collector once, at the first collection due. */
  constructor(bytesPerCollection: number, obtain: () => Collect | undefined = v8Collector) {
    this.#bytesPerCollection = bytesPerCollection
    this.#obtain = obtain
  }

  /** How many collections it has run. */
  get collections(): number {
    return this.#collections
  }

  /** Counts bytes a transfer moved; runs a young-generation collection every `bytesPerCollection`. */
  moved(bytes: number): void {
    this.#pending += bytes
    if (this.#pending < this.#bytesPerCollection) return
    this.#pending = 0
    if (this.#collect === null) this.#collect = this.#obtain()
    if (this.#collect === undefined) return
    this.#collect({ type: 'minor', execution: 'sync' })
    this.#collections++
  }
}

/** One per process: the young generation is the isolate's, whichever transfers fill it. */
export const bulkGarbagePacer = new GarbagePacer(COLLECT_EVERY_BYTES)
