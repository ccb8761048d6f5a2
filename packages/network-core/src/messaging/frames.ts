// Length-prefixed frames (unsigned varint length, then the payload), as every messaging
// protocol here writes them. The reader splits a stream's bytes into frames without a promise per read. A frame whose
// prefix announces more than the limit is not buffered: the reader reports it with its first
// bytes (enough for a session frame's kind and id, so the sender can be told which request was
// refused) and then drops its body as it arrives, so one oversized frame costs no memory and the
// stream stays usable.
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'

/** Bytes of an oversized frame's payload handed to `oversized()`: a kind byte and an id's varint. */
export const OVERSIZED_HEAD_BYTES = 11
/** A length prefix longer than this is not a varint we would ever accept. */
export const MAX_PREFIX_BYTES = 8

export interface FrameSink {
  frame(payload: Uint8Array): void
  /** A frame larger than the limit: `head` is its first bytes; the rest is being dropped. */
  oversized(length: number, head: Uint8Array): void
  /** The bytes are not frames at all (a length prefix that does not decode); the stream is unusable. */
  malformed(detail: string): void
}

export class FrameReader {
  readonly #maxFrameBytes: number
  readonly #sink: FrameSink
  readonly #buffer = new Uint8ArrayList()
  #discarding = 0
  #failed = false

  constructor(maxFrameBytes: number, sink: FrameSink) {
    this.#maxFrameBytes = maxFrameBytes
    this.#sink = sink
  }

  /** Bytes buffered toward a frame not yet complete (bounded by the limit plus one read). */
  get buffered(): number {
    return this.#buffer.byteLength
  }

  /**
   * Stops this reader and returns what it buffered past the last frame it delivered, for the
   * reader that takes the stream over (after a session opening, say). Safe from inside `frame()`.
   */
  handOver(): Uint8ArrayList {
    this.#failed = true
    const rest = new Uint8ArrayList()
    rest.append(this.#buffer)
    this.#buffer.consume(this.#buffer.byteLength)
    return rest
  }

  push(data: Uint8Array | Uint8ArrayList): void {
    if (this.#failed) return
    this.#buffer.append(data)
    while (!this.#failed) {
      if (this.#discarding > 0) {
        const drop = Math.min(this.#discarding, this.#buffer.byteLength)
        this.#buffer.consume(drop)
        this.#discarding -= drop
        if (this.#discarding > 0) return
      }
      if (this.#buffer.byteLength === 0) return
      const prefix = this.#readPrefix()
      if (prefix === undefined) return
      const { length, prefixBytes } = prefix
      if (length > this.#maxFrameBytes) {
        const headBytes = Math.min(length, OVERSIZED_HEAD_BYTES)
        if (this.#buffer.byteLength < prefixBytes + headBytes) return
        const head = this.#buffer.subarray(prefixBytes, prefixBytes + headBytes)
        this.#buffer.consume(prefixBytes)
        this.#discarding = length
        this.#sink.oversized(length, head)
        continue
      }
      if (this.#buffer.byteLength < prefixBytes + length) return
      const payload = this.#buffer.subarray(prefixBytes, prefixBytes + length)
      this.#buffer.consume(prefixBytes + length)
      this.#sink.frame(payload)
    }
  }

  #readPrefix(): LengthPrefix | undefined {
    const prefix = readLengthPrefix(this.#buffer)
    if (prefix === 'malformed') {
      this.#failed = true
      this.#sink.malformed(`length prefix longer than ${MAX_PREFIX_BYTES} bytes`)
      return undefined
    }
    return prefix
  }
}

export interface LengthPrefix {
  length: number
  prefixBytes: number
}

/**
 * The unsigned-varint length prefix at the start of `buffer`: undefined while incomplete,
 * 'malformed' when it runs past MAX_PREFIX_BYTES.
 */
export function readLengthPrefix(buffer: Uint8ArrayList): LengthPrefix | undefined | 'malformed' {
  // A varint's last byte has the high bit clear: until one is buffered, the prefix is incomplete.
  const available = Math.min(buffer.byteLength, MAX_PREFIX_BYTES)
  for (let i = 0; i < available; i++) {
    if ((buffer.get(i) & 0x80) === 0) return { length: varint.decode(buffer.subarray(0, i + 1)), prefixBytes: i + 1 }
  }
  return buffer.byteLength >= MAX_PREFIX_BYTES ? 'malformed' : undefined
}

/** A length-prefixed frame, ready for `stream.send()`. */
export function lengthPrefixed(payload: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(varint.encode(payload.byteLength), payload)
}
