// Reading and writing a bulk transfer stream: control frames (length-prefixed) and runs of raw
// payload bytes, with backpressure both ways. Reading pauses the stream while the consumer (a
// file) is behind, which stops yamux window updates / QUIC credit, so the sender is held back
// and memory stays bounded by the transport's window, whatever the payload's size.
import type { Stream, StreamMessageEvent } from '@libp2p/interface'
import { raceSignal } from 'race-signal'
import { Uint8ArrayList } from 'uint8arraylist'
import { readLengthPrefix } from '../frames.js'
import { BulkTransferError } from './errors.js'

// While paused, a stream still takes in what the remote already had credit to send: up to
// yamux's largest stream window (16 MiB by default) or QUIC's. libp2p resets a stream whose
// paused buffer passes maxReadBufferLength (4 MiB by default), so bulk streams get room for one
// whole window; this is also the most a transfer holds in memory at the receiving end.
export const BULK_READ_BUFFER_BYTES = 24 * 1024 * 1024

export class StreamReader {
  readonly #stream: Stream
  readonly #buffer = new Uint8ArrayList()
  #wake: (() => void) | undefined
  #ended = false
  #error: Error | undefined

  constructor(stream: Stream) {
    this.#stream = stream
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, BULK_READ_BUFFER_BYTES)
    stream.addEventListener('message', (event: StreamMessageEvent) => {
      this.#buffer.append(event.data)
      this.#notify()
    })
    stream.addEventListener('remoteCloseWrite', () => {
      this.#ended = true
      this.#notify()
    })
    stream.addEventListener('close', (event) => {
      this.#ended = true
      if (event.error != null) this.#error = event.error
      this.#notify()
    })
  }

  /** The next length-prefixed frame; at most `maxBytes`. */
  async frame(maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
    for (;;) {
      const prefix = readLengthPrefix(this.#buffer)
      if (prefix === 'malformed') throw new BulkTransferError('invalid-request', 'malformed control frame length', false)
      if (prefix !== undefined) {
        const { length, prefixBytes } = prefix
        if (length > maxBytes) throw new BulkTransferError('invalid-request', `control frame of ${length} bytes, more than ${maxBytes}`, false)
        if (this.#buffer.byteLength >= prefixBytes + length) {
          const frame = this.#buffer.subarray(prefixBytes, prefixBytes + length)
          this.#buffer.consume(prefixBytes + length)
          return frame
        }
      }
      await this.#more(signal, 'a control frame')
    }
  }

  /**
   * Hands exactly `count` payload bytes to `consume` as they arrive. When `consume` returns a
   * promise (its sink is full) the stream is paused until it settles.
   */
  async bytes(count: number, consume: (chunk: Uint8Array) => Promise<void> | undefined, signal: AbortSignal): Promise<void> {
    let remaining = count
    while (remaining > 0) {
      if (this.#buffer.byteLength === 0) {
        await this.#more(signal, `${remaining} more payload bytes`)
        continue
      }
      const take = Math.min(remaining, this.#buffer.byteLength)
      const chunks = [...this.#buffer.sublist(0, take)]
      this.#buffer.consume(take)
      remaining -= take
      for (const chunk of chunks) {
        const wait = consume(chunk)
        if (wait === undefined) continue
        // Nothing to hold back once the remote has finished sending (or the stream is gone).
        const pausable = this.#stream.readStatus === 'readable'
        if (pausable) this.#stream.pause()
        try {
          await raceSignal(wait, signal)
        } finally {
          if (pausable && this.#stream.readStatus === 'paused') this.#stream.resume()
        }
      }
    }
  }

  /** Resolves once the remote has closed its end with nothing more sent; more bytes are a protocol error. */
  async end(signal: AbortSignal): Promise<void> {
    while (!this.#ended || this.#buffer.byteLength > 0) {
      if (this.#buffer.byteLength > 0) throw new BulkTransferError('invalid-request', 'bytes after the end of the transfer', false)
      await this.#more(signal, 'the end of the stream')
    }
  }

  async #more(signal: AbortSignal, what: string): Promise<void> {
    if (this.#ended) {
      throw new BulkTransferError('closed', `the stream ended while waiting for ${what}`, false, this.#error === undefined ? undefined : { cause: this.#error })
    }
    const arrived = new Promise<void>((resolve) => {
      this.#wake = resolve
    })
    await raceSignal(arrived, signal)
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}

/** Sends bytes, waiting for the stream to drain whenever its buffer is full. */
export async function sendWithBackpressure(stream: Stream, data: Uint8Array | Uint8ArrayList, signal: AbortSignal): Promise<void> {
  if (!stream.send(data)) await stream.onDrain({ signal })
}

