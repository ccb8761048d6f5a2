// The calling side of request/response. To a peer that speaks v2 it keeps one session stream
// per protocol, opened on first use and again after it fails, carrying every request with an id
// (pipelined, answered in any order); to a peer that answers the session opening with
// `unsupported-version` it falls back to one v1 stream per request.
import type { Logger, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdOfTarget } from '../../connection/addresses.js'
import { raceSignal } from 'race-signal'
import type { Uint8ArrayList } from 'uint8arraylist'
import {
  decodeBody,
  decodeResponse,
  decodeSessionAccept,
  decodeSessionError,
  decodeSessionFrameHead,
  encodeBody,
  encodeSessionFrame,
  formatZodError,
  FrameKind,
  SESSION_FRAME_OVERHEAD,
  SESSION_OPEN,
  V1_REQUEST_OVERHEAD,
  wrapV1Request,
} from './codec.js'
import { errorFromWire, InvalidRequestError, InvalidResponseError, MessageTooLargeError, ProtocolNotSupportedError, RequestTimeoutError } from './errors.js'
import type { RequestEventSink, RequestOutcome } from './events.js'
import { FrameReader, lengthPrefixed } from '../frames.js'
import type { MessageSchema, RequestOptions } from './index.js'

export interface ClientInit {
  connectionManager: ConnectionManager
  log: Logger
  events: RequestEventSink
  maxMessageBytes: number
  maxOutboundStreams: number
  defaultTimeoutMs: number
  /** False: one v1 stream per request, always (what a node before sessions did). */
  sessions: boolean
  /** A session with nothing in flight for this long is closed; the next request opens another. */
  sessionIdleMs: number
}

/** One answer from the remote, not yet decoded: a response body or an error frame. */
interface Answer {
  kind: 'response' | 'error'
  body: Uint8Array
}

// A peer that answered a session opening with `unsupported-version` is asked again after this
// long (it may have been upgraded); until then it gets v1 streams without the extra round trip.
const LEGACY_RETRY_MS = 10 * 60_000

// Error names from libp2p/@libp2p/utils, matched by name because their classes are not
// all exported from one place and may exist in two copies in node_modules.
const FRAME_TOO_LARGE_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'StreamBufferError'])

export class RequestResponseClient {
  readonly #init: ClientInit
  /** Sessions by peer and protocol; the promise while one is being opened, so concurrent first requests share it. */
  readonly #sessions = new Map<string, Promise<ClientSession | undefined>>()
  /** Peer and protocol pairs that speak only v1, and until when we believe it. */
  readonly #legacy = new Map<string, number>()

  constructor(init: ClientInit) {
    this.#init = init
  }

  /** Closes every session (the service is stopping); requests in flight on them fail. */
  closeAll(): void {
    for (const opening of this.#sessions.values()) {
      void opening.then((session) => session?.close(new Error('request/response service stopped')), () => {})
    }
    this.#sessions.clear()
  }

  async request<Req, Res>(
    target: PeerId | Multiaddr,
    protocol: string,
    schema: MessageSchema<Req, Res>,
    message: Req,
    options: RequestOptions,
  ): Promise<Res> {
    const started = performance.now()
    const remotePeer = peerIdOfTarget(target)
    let outcome: RequestOutcome = 'error'
    try {
      const response = await this.#request(target, remotePeer, protocol, schema, message, options)
      outcome = 'ok'
      return response
    } catch (err) {
      outcome = outcomeOf(err)
      throw err
    } finally {
      this.#init.events.complete(protocol, 'client', started, outcome, remotePeer)
    }
  }

  async #request<Req, Res>(
    target: PeerId | Multiaddr,
    remotePeer: PeerId | undefined,
    protocol: string,
    schema: MessageSchema<Req, Res>,
    message: Req,
    options: RequestOptions,
  ): Promise<Res> {
    const { events, maxMessageBytes } = this.#init
    const checked = schema.request.safeParse(message)
    if (!checked.success) {
      events.refused(protocol, 'client', 'invalid', remotePeer)
      throw new InvalidRequestError(protocol, formatZodError(checked.error))
    }
    // The caller's value goes on the wire, not the parsed one: the remote parses with its own schema.
    const body = encodeBody(message)
    if (!body.ok) {
      events.refused(protocol, 'client', 'invalid', remotePeer)
      throw new InvalidRequestError(protocol, body.detail)
    }
    // The limit is on the v1 envelope, whichever framing carries it, so it means one thing everywhere.
    const size = body.bytes.byteLength + V1_REQUEST_OVERHEAD
    if (size > maxMessageBytes) {
      events.refused(protocol, 'client', 'too-large', remotePeer)
      throw new MessageTooLargeError(protocol, `request is ${size} bytes, more than the ${maxMessageBytes} byte limit`, size, maxMessageBytes)
    }

    const timeoutMs = positive('timeoutMs', options.timeoutMs ?? this.#init.defaultTimeoutMs)
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(new RequestTimeoutError(protocol, `no response within ${timeoutMs} ms`)), timeoutMs)
    const signal = options.signal == null ? timeout.signal : AbortSignal.any([timeout.signal, options.signal])
    try {
      const session = remotePeer === undefined || !this.#init.sessions ? undefined : await this.#session(target, remotePeer, protocol, signal)
      const response = session === undefined
        ? await this.#exchange(target, protocol, body.bytes, signal)
        : bodyOfAnswer(protocol, await session.request(body.bytes, signal))
      const parsed = schema.response.safeParse(response)
      if (!parsed.success) throw new InvalidResponseError(protocol, formatZodError(parsed.error))
      return parsed.data
    } catch (err) {
      throw this.#clientError(protocol, err, timeout.signal)
    } finally {
      clearTimeout(timer)
    }
  }

  /** The open session to `peer` for `protocol`, a new one, or undefined when the peer speaks only v1. */
  async #session(target: PeerId | Multiaddr, peer: PeerId, protocol: string, signal: AbortSignal): Promise<ClientSession | undefined> {
    const key = `${peer.toString()}\n${protocol}`
    const legacyUntil = this.#legacy.get(key)
    if (legacyUntil !== undefined) {
      if (Date.now() < legacyUntil) return undefined
      this.#legacy.delete(key)
    }
    let opening = this.#sessions.get(key)
    if (opening !== undefined) {
      const session = await raceSignal(opening, signal)
      if (session?.usable === true) return session
      if (this.#sessions.get(key) === opening) this.#sessions.delete(key)
    }
    opening = this.#open(target, peer, protocol, key)
    this.#sessions.set(key, opening)
    // A failed opening is forgotten at once, so the next request tries again.
    opening.then(
      (session) => {
        if (session === undefined && this.#sessions.get(key) === opening) this.#sessions.delete(key)
      },
      () => {
        if (this.#sessions.get(key) === opening) this.#sessions.delete(key)
      },
    )
    return raceSignal(opening, signal)
  }

  /** Opens a stream, sends the session opening and waits for the accept (or the v1 refusal). */
  async #open(target: PeerId | Multiaddr, peer: PeerId, protocol: string, key: string): Promise<ClientSession | undefined> {
    // Shared by every request waiting on it, so it runs on its own clock, not one caller's.
    const signal = AbortSignal.timeout(this.#init.defaultTimeoutMs)
    const stream = await this.#openStream(target, protocol, signal)
    try {
      stream.send(lengthPrefixed(SESSION_OPEN))
      const { payload, rest } = await readOneFrame(stream, this.#init.maxMessageBytes, signal)
      const accept = decodeSessionAccept(payload)
      if (!accept.ok) {
        if (accept.reason === 'unsupported-version') {
          this.#init.log('%s: %p speaks only v1 request/response, a stream per request', protocol, peer)
          this.#legacy.set(key, Date.now() + LEGACY_RETRY_MS)
          await stream.close({ signal }).catch(() => stream.abort(new Error('closing a v1 stream failed')))
          return undefined
        }
        throw new InvalidResponseError(protocol, accept.detail)
      }
      return new ClientSession(stream, this.#init, rest, () => {
        if (this.#sessions.get(key) !== undefined) void this.#dropIfGone(key)
      })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  async #dropIfGone(key: string): Promise<void> {
    const opening = this.#sessions.get(key)
    const session = await opening?.catch(() => undefined)
    if (session?.usable !== true && this.#sessions.get(key) === opening) this.#sessions.delete(key)
  }

  /** One v1 exchange on a stream of its own; resolves with the response body (not yet schema-checked). */
  async #exchange(target: PeerId | Multiaddr, protocol: string, body: Uint8Array, signal: AbortSignal): Promise<unknown> {
    const stream = await this.#openStream(target, protocol, signal)
    try {
      let writeError: unknown
      try {
        if (!stream.send(lengthPrefixed(wrapV1Request(body)))) await stream.onDrain({ signal })
        // Half-close: the server knows the request is complete and the stream can end cleanly.
        await stream.close({ signal })
      } catch (err) {
        // A server that refuses early (too-large) may reset the stream while we write; its
        // reply can still be in our read buffer, and it says more than the reset does.
        writeError = err
      }
      let frame: Uint8Array
      try {
        frame = (await readOneFrame(stream, this.#init.maxMessageBytes, signal)).payload
      } catch (err) {
        throw writeError ?? err
      }
      const decoded = decodeResponse(frame)
      if (!decoded.ok) throw new InvalidResponseError(protocol, decoded.detail)
      const envelope = decoded.value
      if (!envelope.ok) throw errorFromWire(protocol, envelope.error.code, envelope.error.message)
      return envelope.body
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  #openStream(target: PeerId | Multiaddr, protocol: string, signal: AbortSignal): Promise<Stream> {
    return this.#init.connectionManager.openStream(target, protocol, {
      signal,
      runOnLimitedConnection: true,
      // Skips the multistream round trip where libp2p supports it (3.3.11 ignores it; see report).
      negotiateFully: false,
      maxOutboundStreams: this.#init.maxOutboundStreams,
    })
  }

  #clientError(protocol: string, err: unknown, timeoutSignal: AbortSignal): unknown {
    if (isOwnError(err)) return err
    if (timeoutSignal.aborted) return timeoutSignal.reason
    const name = err instanceof Error ? err.name : ''
    if (name === 'UnsupportedProtocolError') return new ProtocolNotSupportedError(protocol, { cause: err })
    if (FRAME_TOO_LARGE_ERRORS.has(name)) {
      return new MessageTooLargeError(protocol, `response is larger than the ${this.#init.maxMessageBytes} byte limit`, undefined, this.#init.maxMessageBytes)
    }
    return err
  }
}

/** One session stream at the calling end: ids out, answers matched back by id. */
class ClientSession {
  readonly #stream: Stream
  readonly #init: ClientInit
  readonly #reader: FrameReader
  readonly #pending = new Map<number, { resolve: (answer: Answer) => void; reject: (err: unknown) => void }>()
  readonly #onGone: () => void
  #nextId = 1
  #closed: Error | undefined
  #idleTimer: ReturnType<typeof setTimeout> | undefined
  /** Set while the stream's send buffer is full: requests wait for it before sending. */
  #drained: Promise<void> | undefined

  constructor(stream: Stream, init: ClientInit, rest: Uint8ArrayList, onGone: () => void) {
    this.#stream = stream
    this.#init = init
    this.#onGone = onGone
    this.#reader = new FrameReader(init.maxMessageBytes + SESSION_FRAME_OVERHEAD, {
      frame: (payload) => this.#onFrame(payload),
      oversized: (_length, head) => this.#onOversized(head),
      malformed: (detail) => this.close(new InvalidResponseError(stream.protocol ?? '', detail)),
    })
    stream.addEventListener('message', (event: StreamMessageEvent) => this.#reader.push(event.data))
    stream.addEventListener('close', (event) => {
      this.#gone(event.error ?? new Error('request/response session closed'))
    })
    stream.addEventListener('remoteCloseWrite', () => {
      // The server closes its end only when it is going away: nothing more will be answered.
      this.close(new Error('the remote closed the request/response session'))
    })
    if (rest.byteLength > 0) this.#reader.push(rest)
    this.#armIdle()
  }

  get usable(): boolean {
    return this.#closed === undefined && this.#stream.writeStatus === 'writable'
  }

  async request(body: Uint8Array, signal: AbortSignal): Promise<Answer> {
    if (this.#closed !== undefined) throw this.#closed
    clearTimeout(this.#idleTimer)
    const id = this.#nextId++
    const answer = new Promise<Answer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
    })
    try {
      if (this.#drained !== undefined) await raceSignal(this.#drained, signal)
      this.#send(encodeSessionFrame(FrameKind.request, id, body))
      return await raceSignal(answer, signal)
    } catch (err) {
      if (this.#pending.delete(id) && signal.aborted) {
        // We gave up: tell the server so its handler's signal aborts. No answer will be read.
        this.#send(encodeSessionFrame(FrameKind.cancel, id, new Uint8Array(0)))
      }
      throw err
    } finally {
      this.#pending.delete(id)
      this.#armIdle()
    }
  }

  /** Ends the session: pending requests fail with `reason`, the stream closes. */
  close(reason: Error): void {
    if (this.#closed !== undefined) return
    this.#gone(reason)
    const signal = AbortSignal.timeout(2_000)
    this.#stream.close({ signal }).catch((err: unknown) => this.#stream.abort(err instanceof Error ? err : new Error(String(err))))
  }

  #gone(reason: Error): void {
    if (this.#closed === undefined) this.#closed = reason
    clearTimeout(this.#idleTimer)
    for (const { reject } of this.#pending.values()) reject(reason)
    this.#pending.clear()
    this.#onGone()
  }

  #send(frame: Uint8ArrayList): void {
    if (!this.usable) throw this.#closed ?? new Error('request/response session is not writable')
    if (!this.#stream.send(frame) && this.#drained === undefined) {
      this.#drained = this.#stream.onDrain().finally(() => {
        this.#drained = undefined
      })
      // A stream that closes instead of draining fails its requests through 'close'.
      this.#drained.catch(() => {})
    }
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer)
    if (this.#pending.size > 0 || this.#closed !== undefined) return
    this.#idleTimer = setTimeout(() => this.close(new Error('request/response session idle')), this.#init.sessionIdleMs)
    this.#idleTimer.unref?.()
  }

  #onFrame(payload: Uint8Array): void {
    const head = decodeSessionFrameHead(payload)
    if (head === undefined || (head.kind !== FrameKind.response && head.kind !== FrameKind.error)) {
      this.close(new InvalidResponseError(this.#stream.protocol ?? '', 'malformed session frame'))
      return
    }
    // An answer to a request we already gave up on is dropped.
    this.#pending.get(head.id)?.resolve({
      kind: head.kind === FrameKind.response ? 'response' : 'error',
      body: payload.subarray(head.bodyOffset),
    })
  }

  #onOversized(head: Uint8Array): void {
    const protocol = this.#stream.protocol ?? ''
    const frameHead = decodeSessionFrameHead(head)
    if (frameHead === undefined) {
      this.close(new InvalidResponseError(protocol, 'oversized frame without kind and id'))
      return
    }
    const limit = this.#init.maxMessageBytes
    this.#pending.get(frameHead.id)?.reject(new MessageTooLargeError(protocol, `response is larger than the ${limit} byte limit`, undefined, limit))
  }
}

/** Waits for the first frame on a stream; `rest` is whatever arrived behind it. */
function readOneFrame(stream: Stream, maxMessageBytes: number, signal: AbortSignal): Promise<{ payload: Uint8Array; rest: Uint8ArrayList }> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
    }
    const reader: FrameReader = new FrameReader(maxMessageBytes, {
      frame: (payload) => {
        done()
        resolve({ payload, rest: reader.handOver() })
      },
      oversized: () => {
        done()
        reader.handOver()
        reject(new MessageTooLargeError(stream.protocol ?? '', `response is larger than the ${maxMessageBytes} byte limit`, undefined, maxMessageBytes))
      },
      malformed: (detail) => {
        done()
        reject(new InvalidResponseError(stream.protocol ?? '', detail))
      },
    })
    const onMessage = (event: StreamMessageEvent): void => reader.push(event.data)
    const onClose = (event: Event): void => {
      done()
      const error = 'error' in event && event.error instanceof Error ? event.error : undefined
      reject(error ?? new Error('stream closed before a response arrived'))
    }
    const onAbort = (): void => {
      done()
      reject(signal.reason)
    }
    if (signal.aborted) {
      onAbort()
      return
    }
    signal.addEventListener('abort', onAbort, { once: true })
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onClose)
  })
}

/** A session answer's body (not yet schema-checked); an error frame throws its error. */
function bodyOfAnswer(protocol: string, answer: Answer): unknown {
  if (answer.kind === 'error') {
    const error = decodeSessionError(answer.body)
    if (!error.ok) throw new InvalidResponseError(protocol, error.detail)
    throw errorFromWire(protocol, error.value.code, error.value.message)
  }
  const body = decodeBody(answer.body)
  if (!body.ok) throw new InvalidResponseError(protocol, body.detail)
  return body.value
}

const OUTCOME_BY_NAME: Record<string, RequestOutcome> = {
  RequestTimeoutError: 'timeout',
  RemoteBusyError: 'busy',
  MessageTooLargeError: 'too-large',
  InvalidRequestError: 'invalid',
  InvalidResponseError: 'invalid',
  RemoteHandlerError: 'handler-error',
}

function outcomeOf(err: unknown): RequestOutcome {
  return (err instanceof Error ? OUTCOME_BY_NAME[err.name] : undefined) ?? 'error'
}

function isOwnError(err: unknown): boolean {
  return err instanceof Error && (err.name in OUTCOME_BY_NAME || err.name === 'ProtocolNotSupportedError')
}

export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}
