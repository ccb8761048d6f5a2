// A throttled view of one connection's (decrypted) MessageStream, handed to the stream muxer
// instead of the stream itself. One token bucket per direction per connection; nothing is ever
// dropped, only delayed:
//
// - Outbound: the muxer's `send()` appends to a FIFO queue that is fed to the real stream as
//   tokens allow (chunks are split at byte boundaries; yamux frames survive that, the bytes
//   are a stream). While bytes wait, `send()` returns false, which makes the muxer mark every
//   stream as needing drain (AbstractStreamMuxer.send → onMuxerNeedsDrain), exactly as when the
//   socket is full; once the queue is empty and the real stream is not itself full, the view
//   dispatches 'drain' and the streams carry on (AbstractStreamMuxer listens for it on the
//   view). The real stream's own send()/drain backpressure is respected underneath.
// - Inbound: messages from the real stream are queued and handed to the muxer as tokens allow.
//   While bytes wait the real stream is paused(); for TCP that pauses the TLS socket, whose
//   buffers then fill, which pauses the TCP socket, so the sender is held back by TCP flow
//   control (and by yamux windows, whose updates are only sent for delivered data).
// - Close: when the real stream closes, bytes still queued inbound are delivered at once
//   (early rather than lost) before the muxer hears of the close; bytes still queued outbound
//   cannot be delivered any more. A graceful muxer close waits for the outbound queue (see
//   `flushed`, used by the muxer wrapper in index.ts).
//
// The view is a Proxy: everything except send, the 'message'/'drain' listeners, onDrain and
// writableNeedsDrain goes straight to the real stream (close, abort, status, log, direction...).
import { type AbortOptions, type MessageStream, StreamMessageEvent } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { TokenBucket } from './token-bucket.js'

export interface BandwidthLimits {
  /** Inbound bytes per second per connection; 0 = unlimited. */
  bandwidthIn: number
  /** Outbound bytes per second per connection; 0 = unlimited. */
  bandwidthOut: number
}

export interface ThrottleOptions {
  /** Bucket capacity in seconds of rate (default 1: a fresh or idle connection may burst one
   *  second's worth of bytes). */
  burstSeconds?: number
  /** Clock in milliseconds, for tests. */
  now?: () => number
}

type ViewListener = Parameters<MessageStream['addEventListener']>[1]
type ViewListenerOptions = Parameters<MessageStream['addEventListener']>[2]

/** Timer granularity: wait for about 1/50 s of rate at a time (20 ms ticks). */
const TICKS_PER_SECOND = 50

function bucketFor(rate: number, options: ThrottleOptions): TokenBucket | undefined {
  if (rate <= 0) return undefined
  const burst = Math.max(1, Math.floor(rate * (options.burstSeconds ?? 1)))
  return new TokenBucket(rate, burst, options.now)
}

export class ThrottledMessageStream {
  /** What the muxer reads and writes through. */
  readonly view: MessageStream
  readonly real: MessageStream
  readonly #in: TokenBucket | undefined
  readonly #out: TokenBucket | undefined
  /** Listeners for 'message' (inbound limited) and 'drain' (outbound limited) on the view. */
  readonly #events = new EventTarget()
  readonly #log: MessageStream['log']

  readonly #inQueue = new Uint8ArrayList()
  #inTimer: ReturnType<typeof setTimeout> | undefined
  #inPumping = false
  #paused = false

  readonly #outQueue = new Uint8ArrayList()
  #outTimer: ReturnType<typeof setTimeout> | undefined
  #outPumping = false
  /** The real stream returned false from send and has not dispatched 'drain' since. */
  #realNeedsDrain = false
  /** The view returned false from send and has not dispatched 'drain' since. */
  #viewNeedsDrain = false
  #flushWaiters: Array<() => void> = []
  /** EventTarget has no listener count; the muxer's 'message' listeners on the view. */
  readonly #messageListeners = new Set<ViewListener>()
  #closed = false

  constructor(real: MessageStream, limits: BandwidthLimits, options: ThrottleOptions = {}) {
    this.real = real
    this.#in = bucketFor(limits.bandwidthIn, options)
    this.#out = bucketFor(limits.bandwidthOut, options)
    this.#log = real.log.newScope('bandwidth')

    // registered before the muxer's own listener (the muxer is built on the view afterwards),
    // so queued inbound bytes reach the muxer before it learns of the close
    real.addEventListener('close', this.#onRealClose)
    if (this.#in !== undefined) real.addEventListener('message', this.#onRealMessage)
    if (this.#out !== undefined) real.addEventListener('drain', this.#onRealDrain)

    const intercepted: Partial<Record<PropertyKey, unknown>> = {
      send: this.#send,
      addEventListener: this.#addEventListener,
      removeEventListener: this.#removeEventListener,
      onDrain: this.#onDrain,
    }
    this.view = new Proxy(real, {
      get: (target, property) => {
        if (property === 'writableNeedsDrain') return this.#viewNeedsDrain || target.writableNeedsDrain
        const own = intercepted[property]
        if (own !== undefined) return own
        const value: unknown = Reflect.get(target, property, target)
        // methods (from the prototype) run on the real stream; own function-valued properties
        // such as `log` (a logger with properties of its own) are passed as they are
        return typeof value === 'function' && !Object.hasOwn(target, property) ? value.bind(target) : value
      },
    })
  }

  /** Bytes waiting for inbound tokens. */
  get inboundQueued(): number {
    return this.#inQueue.byteLength
  }

  /** Bytes waiting for outbound tokens. */
  get outboundQueued(): number {
    return this.#outQueue.byteLength
  }

  /** Resolves once every byte queued outbound has been handed to the real stream (or the
   *  stream closed, after which nothing more can be sent). */
  async flushed(options?: AbortOptions): Promise<void> {
    if (this.#outQueue.byteLength === 0 || this.#closed) return
    await new Promise<void>((resolve, reject) => {
      const signal = options?.signal
      const onAbort = (): void => {
        this.#flushWaiters = this.#flushWaiters.filter((w) => w !== done)
        reject(signal?.reason instanceof Error ? signal.reason : new Error('flush aborted'))
      }
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      if (signal?.aborted === true) {
        onAbort()
        return
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#flushWaiters.push(done)
    })
  }

  // ---- view API -------------------------------------------------------------------------

  readonly #addEventListener = (type: string, listener: ViewListener, options?: ViewListenerOptions): void => {
    if (this.#intercepts(type)) {
      this.#events.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options)
      if (type === 'message' && listener !== null) this.#messageListeners.add(listener)
      // like AbstractMessageStream: a late 'message' listener gets what is already waiting
      if (type === 'message' && this.#inQueue.byteLength > 0) queueMicrotask(() => this.#pumpIn())
      return
    }
    ;(this.real.addEventListener as (t: string, l: ViewListener, o?: ViewListenerOptions) => void)(type, listener, options)
  }

  readonly #removeEventListener = (type: string, listener?: ViewListener, options?: EventListenerOptions | boolean): void => {
    if (this.#intercepts(type)) {
      this.#events.removeEventListener(type, (listener ?? null) as EventListenerOrEventListenerObject | null, options)
      if (type === 'message' && listener !== undefined) this.#messageListeners.delete(listener)
      return
    }
    ;(this.real.removeEventListener as (t: string, l?: ViewListener, o?: EventListenerOptions | boolean) => void)(type, listener, options)
  }

  #intercepts(type: string): boolean {
    return (type === 'message' && this.#in !== undefined) || (type === 'drain' && this.#out !== undefined)
  }

  readonly #send = (data: Uint8Array | Uint8ArrayList): boolean => {
    if (this.#out === undefined || this.#closed) return this.real.send(data)
    this.#outQueue.append(data)
    this.#pumpOut()
    const canSendMore = this.#outQueue.byteLength === 0 && !this.#realNeedsDrain
    if (!canSendMore) this.#viewNeedsDrain = true
    return canSendMore
  }

  readonly #onDrain = async (options?: AbortOptions): Promise<void> => {
    if (this.#out === undefined) return this.real.onDrain(options)
    if (!this.#viewNeedsDrain) return
    await new Promise<void>((resolve, reject) => {
      const signal = options?.signal
      const cleanup = (): void => {
        this.#events.removeEventListener('drain', onDrain)
        this.real.removeEventListener('close', onClose)
        signal?.removeEventListener('abort', onAbort)
      }
      const onDrain = (): void => {
        cleanup()
        resolve()
      }
      const onClose = (): void => {
        cleanup()
        reject(new Error('stream closed while waiting for drain'))
      }
      const onAbort = (): void => {
        cleanup()
        reject(signal?.reason instanceof Error ? signal.reason : new Error('onDrain aborted'))
      }
      this.#events.addEventListener('drain', onDrain)
      this.real.addEventListener('close', onClose)
      signal?.addEventListener('abort', onAbort)
    })
  }

  // ---- outbound -------------------------------------------------------------------------

  #pumpOut(): void {
    const bucket = this.#out
    if (bucket === undefined || this.#outPumping || this.#closed) return
    this.#outPumping = true
    try {
      while (this.#outQueue.byteLength > 0 && !this.#realNeedsDrain) {
        const granted = bucket.take(this.#outQueue.byteLength)
        if (granted === 0) break
        const chunk = this.#outQueue.sublist(0, granted)
        this.#outQueue.consume(granted)
        if (!this.real.send(chunk)) this.#realNeedsDrain = true
      }
    } catch (err) {
      // the real stream refused (closing/closed): nothing queued can be delivered any more
      this.#log.error('sending throttled bytes failed, %d bytes undeliverable - %e', this.#outQueue.byteLength, err)
      this.#outQueue.consume(this.#outQueue.byteLength)
    } finally {
      this.#outPumping = false
    }

    if (this.#outQueue.byteLength > 0) {
      // more to send: wait for tokens (or, if the real stream is full, for its 'drain')
      if (!this.#realNeedsDrain && this.#outTimer === undefined) {
        const wait = bucket.msUntil(Math.min(this.#outQueue.byteLength, this.#quantum(bucket)))
        this.#outTimer = setTimeout(() => {
          this.#outTimer = undefined
          this.#pumpOut()
        }, wait)
        this.#outTimer.unref?.()
      }
      return
    }
    this.#resolveFlushed()
    if (this.#viewNeedsDrain && !this.#realNeedsDrain) {
      this.#viewNeedsDrain = false
      this.#events.dispatchEvent(new Event('drain'))
    }
  }

  readonly #onRealDrain = (): void => {
    this.#realNeedsDrain = false
    this.#pumpOut()
  }

  #resolveFlushed(): void {
    const waiters = this.#flushWaiters
    this.#flushWaiters = []
    for (const resolve of waiters) resolve()
  }

  // ---- inbound --------------------------------------------------------------------------

  readonly #onRealMessage = (evt: StreamMessageEvent): void => {
    this.#inQueue.append(evt.data)
    this.#pumpIn()
  }

  #pumpIn(): void {
    const bucket = this.#in
    if (bucket === undefined || this.#inPumping || this.#closed) return
    this.#inPumping = true
    try {
      while (this.#inQueue.byteLength > 0) {
        // hold data until someone listens, like AbstractMessageStream does
        if (!this.#hasMessageListener()) break
        const granted = bucket.take(this.#inQueue.byteLength)
        if (granted === 0) break
        const chunk = this.#inQueue.sublist(0, granted)
        this.#inQueue.consume(granted)
        this.#events.dispatchEvent(new StreamMessageEvent(chunk))
      }
    } finally {
      this.#inPumping = false
    }

    if (this.#inQueue.byteLength === 0) {
      // resuming may dispatch what the real stream buffered while paused, re-entering here
      this.#setPaused(false)
      return
    }
    this.#setPaused(true)
    if (this.#inTimer === undefined && this.#hasMessageListener()) {
      const wait = bucket.msUntil(Math.min(this.#inQueue.byteLength, this.#quantum(bucket)))
      this.#inTimer = setTimeout(() => {
        this.#inTimer = undefined
        this.#pumpIn()
      }, wait)
      this.#inTimer.unref?.()
    }
  }

  #hasMessageListener(): boolean {
    return this.#messageListeners.size > 0
  }

  #setPaused(paused: boolean): void {
    if (paused === this.#paused || this.#closed) return
    try {
      if (paused) this.real.pause()
      else this.real.resume()
      this.#paused = paused
    } catch (err) {
      // closing or closed: the close handler delivers whatever is left
      this.#log.trace('could not %s the throttled stream - %e', paused ? 'pause' : 'resume', err)
    }
  }

  // ---- close ----------------------------------------------------------------------------

  readonly #onRealClose = (): void => {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#inTimer)
    clearTimeout(this.#outTimer)
    this.#inTimer = undefined
    this.#outTimer = undefined
    if (this.#inQueue.byteLength > 0) {
      // deliver early rather than drop: the bytes were already received
      const rest = this.#inQueue.sublist()
      this.#inQueue.consume(rest.byteLength)
      this.#events.dispatchEvent(new StreamMessageEvent(rest))
    }
    if (this.#outQueue.byteLength > 0) {
      this.#log('connection closed with %d throttled bytes unsent', this.#outQueue.byteLength)
      this.#outQueue.consume(this.#outQueue.byteLength)
    }
    this.#resolveFlushed()
    this.real.removeEventListener('message', this.#onRealMessage)
    this.real.removeEventListener('drain', this.#onRealDrain)
  }

  #quantum(bucket: TokenBucket): number {
    return Math.max(1, Math.min(bucket.burst, Math.ceil(bucket.rate / TICKS_PER_SECOND)))
  }
}
