// Reading and writing a bulk transfer stream: control frames (length-prefixed) and runs of raw
// payload bytes, with backpressure both ways. The reader pauses the stream whenever more than
// READ_AHEAD_BYTES wait unconsumed (the consumer, a file, is behind), which stops yamux window
// updates / QUIC credit, so the sender is held back and memory stays bounded, whatever the
// payload's size. (yamux grants window as data is received, not as it is consumed: pausing only
// while one write waits lets every resume admit a burst, and a 1 GiB pull held 440 MB.)
import type { Stream, StreamMessageEvent } from '@libp2p/interface'
import { raceSignal } from 'race-signal'
import { Uint8ArrayList } from 'uint8arraylist'
import { readLengthPrefix } from '../frames.js'
import { BulkTransferError } from './errors.js'
import { bulkGarbagePacer } from './garbage-pacer.js'

// While paused, a stream still takes in what the remote already had credit to send: up to
// its yamux window (BULK_RECEIVE_WINDOW_BYTES, below) or QUIC's stream credit. libp2p resets a stream whose
// paused buffer passes maxReadBufferLength (4 MiB by default), so bulk streams get room for one
// whole window; this is also the most a transfer holds in memory at the receiving end.
export const BULK_READ_BUFFER_BYTES = 24 * 1024 * 1024
/** Unconsumed bytes the reader holds before it pauses the stream; it resumes below half of it. */
export const READ_AHEAD_BYTES = 1024 * 1024
/** Bytes a sender lets queue in the stream before it waits for them to go out. */
export const WRITE_AHEAD_BYTES = 1024 * 1024

/**
 * The most a bulk stream lets its yamux peer send ahead of what it has read: 8 MiB instead of
 * yamux's 16 MiB. While the reader is paused that window is in memory, long enough to outlive
 * scavenges and wait for a mark-compact; halving it took a 1 GiB transfer's RSS growth on the
 * far side from 52-79 to ~23 MiB, at the same speed on loopback. It still allows 160 MB/s per
 * stream at a 50 ms round trip.
 */
export const BULK_RECEIVE_WINDOW_BYTES = 8 * 1024 * 1024

/**
 * Caps the receive window of a yamux stream. @chainsafe/libp2p-yamux keeps the cap per stream
 * (`maxStreamWindowSize`, the init option, consulted each time it doubles the window), but
 * offers no way to set it per stream; the window starts at 256 KiB, so a cap set before the
 * first read holds. QUIC streams have no such field: their credit is the transport's config.
 */
export function capReceiveWindow(stream: Stream, bytes: number): void {
  const muxed = stream as Stream & { maxStreamWindowSize?: unknown }
  if (typeof muxed.maxStreamWindowSize === 'number') muxed.maxStreamWindowSize = Math.min(muxed.maxStreamWindowSize, bytes)
}

export class StreamReader {
  readonly #stream: Stream
  readonly #buffer = new Uint8ArrayList()
  #wake: (() => void) | undefined
  #ended = false
  #error: Error | undefined

  constructor(stream: Stream) {
    this.#stream = stream
    capReceiveWindow(stream, BULK_RECEIVE_WINDOW_BYTES)
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, BULK_READ_BUFFER_BYTES)
    stream.addEventListener('message', (event: StreamMessageEvent) => {
      this.#buffer.append(event.data)
      if (this.#buffer.byteLength > READ_AHEAD_BYTES && stream.readStatus === 'readable') stream.pause()
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
   * Hands exactly `count` payload bytes to `consume` as they arrive, waiting whenever `consume`
   * returns a promise (its sink is full); while it waits, bytes pile up to READ_AHEAD_BYTES and
   * the stream is paused.
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
      // the chunks Node allocated for these bytes die once they are in the sink
      bulkGarbagePacer.moved(take)
      for (const chunk of chunks) {
        const wait = consume(chunk)
        if (wait !== undefined) await raceSignal(wait, signal)
      }
      // Only once the batch is in the sink: what was taken still counts against the read-ahead.
      if (this.#stream.readStatus === 'paused' && this.#buffer.byteLength < READ_AHEAD_BYTES / 2) this.#stream.resume()
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

/**
 * Sends bytes, then waits while more than WRITE_AHEAD_BYTES are queued in the stream. Waiting
 * for one 'drain' after `send()` returns false is not enough: yamux emits 'drain' on every window
 * update, however small, so a sender that writes one more chunk per 'drain' outruns a slow
 * receiver and queues without bound (a 1 GiB push held ~300 MB that way).
 */
export async function sendWithBackpressure(stream: Stream, data: Uint8Array | Uint8ArrayList, signal: AbortSignal): Promise<void> {
  stream.send(data)
  bulkGarbagePacer.moved(data.byteLength)
  while (stream.writeBufferLength > WRITE_AHEAD_BYTES) await sendProgress(stream, signal)
}

/** Resolves at the stream's next 'drain' (some of its queue went out) or 'idle' (all of it did). */
function sendProgress(stream: Stream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown): void => {
      stream.removeEventListener('drain', onProgress)
      stream.removeEventListener('idle', onProgress)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onProgress = (): void => settle()
    const onClose = (): void => settle(new BulkTransferError('closed', 'the stream closed while sending', false))
    const onAbort = (): void => settle(signal.reason)
    if (signal.aborted) {
      onAbort()
      return
    }
    stream.addEventListener('drain', onProgress)
    stream.addEventListener('idle', onProgress)
    stream.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort)
  })
}

