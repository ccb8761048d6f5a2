// Typed request/response over libp2p as a service: one stream per request, one length-prefixed
// JSON frame each way, zod-checked at both ends; bounded in frame size, concurrency and time.
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { isPeerId, serviceCapabilities, setMaxListeners, TypedEventEmitter } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { z } from 'zod'
import {
  decodeRequest,
  decodeResponse,
  encodeError,
  encodeRequest,
  encodeResponse,
  formatZodError,
  RR_ENVELOPE_VERSION,
  WireErrorCode,
} from './codec.js'
import {
  InvalidRequestError,
  InvalidResponseError,
  MessageTooLargeError,
  ProtocolAlreadyHandledError,
  ProtocolNotSupportedError,
  RemoteBusyError,
  RemoteHandlerError,
  RequestTimeoutError,
} from './errors.js'

/** The request and response schemas of one protocol. Bodies travel as JSON, so schemas should be JSON-shaped. */
export interface MessageSchema<Req, Res> {
  request: z.ZodType<Req>
  response: z.ZodType<Res>
}

/** A protocol defined once; pass it as the schema to `handle()` and `request()` (`rr.request(peer, P.id, P, msg)`). */
export interface Protocol<Req, Res> extends MessageSchema<Req, Res> {
  readonly id: string
}

export function defineProtocol<Req, Res>(id: string, schema: MessageSchema<Req, Res>): Protocol<Req, Res> {
  return { id, request: schema.request, response: schema.response }
}

export type RequestOf<P> = P extends Protocol<infer Req, unknown> ? Req : never
export type ResponseOf<P> = P extends Protocol<unknown, infer Res> ? Res : never

export interface HandlerContext {
  peer: PeerId
  connection: Connection
  /** Aborts when the handler's time is up, the caller goes away (stream closed or reset), or the service stops. */
  signal: AbortSignal
}

export type RequestHandler<Req, Res> = (request: Req, context: HandlerContext) => Promise<Res> | Res

export interface HandleOptions {
  /** Handlers of this protocol allowed to run at once (all peers together); excess requests get `busy`. */
  maxConcurrent?: number
  /** Time from the stream opening to the response being written. */
  timeoutMs?: number
}

export interface RequestOptions {
  /** Milliseconds for the whole exchange: dial, stream, request, response. */
  timeout?: number
  signal?: AbortSignal
}

export interface RequestResponseInit {
  /** Largest encoded envelope (request or response frame, in bytes) this node sends or accepts. */
  maxMessageBytes: number
  /** @default 10_000 */
  defaultTimeoutMs?: number
  /** @default 32 */
  defaultMaxConcurrent?: number
  /**
   * Outbound streams per connection and protocol that libp2p lets this node open (libp2p's own
   * default, 64, would cap concurrent requests to one peer). @default 1024
   */
  maxOutboundStreams?: number
}

export interface RequestResponseComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export type RequestSide = 'client' | 'server'
export type RequestOutcome = 'ok' | 'timeout' | 'busy' | 'too-large' | 'invalid' | 'handler-error' | 'error'
export type RefusalReason = 'busy' | 'too-large' | 'invalid'

export interface RequestCompleteDetail {
  protocol: string
  side: RequestSide
  durationMs: number
  outcome: RequestOutcome
  /** Undefined only for a client request addressed by a multiaddr without /p2p. */
  peer: PeerId | undefined
}

export interface RequestRefusedDetail {
  protocol: string
  side: RequestSide
  reason: RefusalReason
  peer: PeerId | undefined
}

export interface RequestResponseEvents {
  /** Exactly once per request on each side, whatever happened. */
  'request:complete': CustomEvent<RequestCompleteDetail>
  /**
   * In addition to 'request:complete', when a request was refused without running a handler:
   * by the server (busy, oversized frame, malformed or schema-invalid request) or by the client
   * before it touched the network (oversized or schema-invalid request).
   */
  'request:refused': CustomEvent<RequestRefusedDetail>
}

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_MAX_CONCURRENT = 32
const DEFAULT_MAX_OUTBOUND_STREAMS = 1024
// libp2p resets inbound streams above maxInboundStreams (per connection) with no reply at all;
// this headroom above maxConcurrent is where excess requests still get a structured `busy`.
const BUSY_HEADROOM_STREAMS = 32
// The read buffer must hold one whole frame plus whatever arrives before we can look at the
// length prefix (one TCP read can carry a whole 256 KiB yamux window); beyond it the stream is
// aborted. This bounds the memory an oversized or flooding sender can make us hold, per stream.
const READ_SLACK_BYTES = 256 * 1024 + 16
// Writing a refusal or an error reply gets its own short budget: the request's budget may
// already be spent (that is often why we are replying).
const REPLY_GRACE_MS = 2_000

// Error names from libp2p/@libp2p/utils, matched by name because their classes are not
// all exported from one place and may exist in two copies in node_modules.
const FRAME_TOO_LARGE_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'StreamBufferError'])

interface Registration {
  protocol: string
  maxConcurrent: number
  timeoutMs: number
  active: number
  /** Schema-checks a request body and binds it to the typed handler, keeping types without casts. */
  validate(body: unknown): { ok: true; call: (context: HandlerContext) => Promise<unknown> } | { ok: false; detail: string }
}

type Settled = { kind: 'value'; value: unknown } | { kind: 'thrown'; error: unknown }

export class RequestResponse extends TypedEventEmitter<RequestResponseEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@hypha/request-response'
  readonly [serviceCapabilities]: string[] = ['@hypha/request-response']

  readonly #components: RequestResponseComponents
  readonly #log: Logger
  readonly #maxMessageBytes: number
  readonly #defaultTimeoutMs: number
  readonly #defaultMaxConcurrent: number
  readonly #maxOutboundStreams: number
  readonly #registrations = new Map<string, Registration>()
  #started = false
  // Aborted by stop() so in-flight handlers learn the node is going away.
  #stopController = new AbortController()

  constructor(components: RequestResponseComponents, init: RequestResponseInit) {
    super()
    if (!Number.isInteger(init.maxMessageBytes) || init.maxMessageBytes <= 0) {
      throw new RangeError(`maxMessageBytes must be a positive integer, got ${init.maxMessageBytes}`)
    }
    this.#components = components
    this.#log = components.logger.forComponent('hypha:messaging:request-response')
    this.#maxMessageBytes = init.maxMessageBytes
    this.#defaultTimeoutMs = positive('defaultTimeoutMs', init.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS)
    this.#defaultMaxConcurrent = positive('defaultMaxConcurrent', init.defaultMaxConcurrent ?? DEFAULT_MAX_CONCURRENT)
    this.#maxOutboundStreams = positive('maxOutboundStreams', init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS)
  }

  get maxMessageBytes(): number {
    return this.#maxMessageBytes
  }

  isStarted(): boolean {
    return this.#started
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#stopController = new AbortController()
    setMaxListeners(Infinity, this.#stopController.signal)
    for (const registration of this.#registrations.values()) await this.#register(registration)
    this.#started = true
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#stopController.abort(new Error('request/response service stopped'))
    for (const protocol of this.#registrations.keys()) await this.#components.registrar.unhandle(protocol)
  }

  /**
   * Serves `protocol`: each inbound request is schema-checked, then handed to `handler` under the
   * protocol's concurrency limit and timeout. Handlers run concurrently; throwing sends an error
   * reply with the error's string `code` property (or `handler-error`) and its message.
   */
  async handle<Req, Res>(
    protocol: string,
    schema: MessageSchema<Req, Res>,
    handler: RequestHandler<Req, Res>,
    options: HandleOptions = {},
  ): Promise<void> {
    if (this.#registrations.has(protocol)) throw new ProtocolAlreadyHandledError(protocol)
    const registration: Registration = {
      protocol,
      maxConcurrent: positive('maxConcurrent', options.maxConcurrent ?? this.#defaultMaxConcurrent),
      timeoutMs: positive('timeoutMs', options.timeoutMs ?? this.#defaultTimeoutMs),
      active: 0,
      validate: (body) => {
        const parsed = schema.request.safeParse(body)
        if (!parsed.success) return { ok: false, detail: formatZodError(parsed.error) }
        const request = parsed.data
        // The executor turns a synchronous throw into a rejection, so sync handlers are safe too.
        return { ok: true, call: (context) => new Promise<Res>((resolve) => resolve(handler(request, context))) }
      },
    }
    this.#registrations.set(protocol, registration)
    if (this.#started) {
      try {
        await this.#register(registration)
      } catch (err) {
        this.#registrations.delete(protocol)
        throw err
      }
    }
  }

  /** Stops serving `protocol`; requests already running finish normally. */
  async unhandle(protocol: string): Promise<void> {
    if (!this.#registrations.delete(protocol)) return
    if (this.#started) await this.#components.registrar.unhandle(protocol)
  }

  /**
   * Sends one request and waits for its response. Throws MessageTooLargeError or
   * InvalidRequestError before touching the network, RequestTimeoutError, RemoteBusyError,
   * RemoteHandlerError, InvalidResponseError, ProtocolNotSupportedError, or libp2p's own error
   * (dial failures, a caller abort).
   */
  async request<Req, Res>(
    peer: PeerId | Multiaddr,
    protocol: string,
    schema: MessageSchema<Req, Res>,
    message: NoInfer<Req>,
    options: RequestOptions = {},
  ): Promise<Res> {
    const started = performance.now()
    const remotePeer = peerOf(peer)
    let outcome: RequestOutcome = 'error'
    try {
      const response = await this.#request(peer, remotePeer, protocol, schema, message, options)
      outcome = 'ok'
      return response
    } catch (err) {
      outcome = outcomeOf(err)
      throw err
    } finally {
      this.#complete(protocol, 'client', started, outcome, remotePeer)
    }
  }

  async #request<Req, Res>(
    peer: PeerId | Multiaddr,
    remotePeer: PeerId | undefined,
    protocol: string,
    schema: MessageSchema<Req, Res>,
    message: Req,
    options: RequestOptions,
  ): Promise<Res> {
    const checked = schema.request.safeParse(message)
    if (!checked.success) {
      this.#refused(protocol, 'client', 'invalid', remotePeer)
      throw new InvalidRequestError(protocol, formatZodError(checked.error))
    }
    // The caller's value goes on the wire, not the parsed one: the remote parses with its own schema.
    const encoded = encodeRequest(message)
    if (!encoded.ok) {
      this.#refused(protocol, 'client', 'invalid', remotePeer)
      throw new InvalidRequestError(protocol, encoded.detail)
    }
    if (encoded.bytes.byteLength > this.#maxMessageBytes) {
      this.#refused(protocol, 'client', 'too-large', remotePeer)
      throw new MessageTooLargeError(
        protocol,
        `request is ${encoded.bytes.byteLength} bytes, more than the ${this.#maxMessageBytes} byte limit`,
        encoded.bytes.byteLength,
        this.#maxMessageBytes,
      )
    }

    const timeoutMs = positive('timeout', options.timeout ?? this.#defaultTimeoutMs)
    const timeoutSignal = AbortSignal.timeout(timeoutMs)
    const signal = options.signal == null ? timeoutSignal : AbortSignal.any([timeoutSignal, options.signal])
    // Every lpStream read (one per varint byte) and p-event wait adds a listener to this signal.
    setMaxListeners(Infinity, signal)

    let stream: Stream | undefined
    let frame: Uint8Array
    try {
      stream = await this.#components.connectionManager.openStream(peer, protocol, {
        signal,
        runOnLimitedConnection: true,
        // Skips the multistream round trip where libp2p supports it (3.3.11 ignores it; see report).
        negotiateFully: false,
        maxOutboundStreams: this.#maxOutboundStreams,
      })
      const lp = this.#lp(stream)
      let writeError: unknown
      try {
        await lp.write(encoded.bytes, { signal })
        // Half-close: the server knows the request is complete and the stream can end cleanly.
        await stream.close({ signal })
      } catch (err) {
        // A server that refuses early (too-large) may reset the stream while we write; its
        // reply can still be in our read buffer, and it says more than the reset does.
        writeError = err
      }
      try {
        frame = (await lp.read({ signal })).subarray()
      } catch (err) {
        throw writeError ?? err
      }
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      throw this.#clientError(protocol, err, timeoutSignal, timeoutMs)
    }
    // The exchange is over: the server closes its end after the reply, so nothing to abort here.
    return this.#readResponse(protocol, schema, frame)
  }

  #readResponse<Req, Res>(protocol: string, schema: MessageSchema<Req, Res>, frame: Uint8Array): Res {
    const decoded = decodeResponse(frame)
    if (!decoded.ok) throw new InvalidResponseError(protocol, decoded.detail)
    const envelope = decoded.value
    if (!envelope.ok) throw errorFromWire(protocol, envelope.error.code, envelope.error.message)
    const parsed = schema.response.safeParse(envelope.body)
    if (!parsed.success) throw new InvalidResponseError(protocol, formatZodError(parsed.error))
    return parsed.data
  }

  #clientError(protocol: string, err: unknown, timeoutSignal: AbortSignal, timeoutMs: number): unknown {
    if (isOwnError(err)) return err
    if (timeoutSignal.aborted) return new RequestTimeoutError(protocol, `no response within ${timeoutMs} ms`)
    const name = err instanceof Error ? err.name : ''
    if (name === 'UnsupportedProtocolError') return new ProtocolNotSupportedError(protocol, { cause: err })
    if (FRAME_TOO_LARGE_ERRORS.has(name)) {
      return new MessageTooLargeError(
        protocol,
        `response is larger than the ${this.#maxMessageBytes} byte limit`,
        undefined,
        this.#maxMessageBytes,
      )
    }
    return err
  }

  async #register(registration: Registration): Promise<void> {
    await this.#components.registrar.handle(
      registration.protocol,
      (stream, connection) => {
        // Not awaited: libp2p only learns the stream was accepted; the exchange runs on its own.
        this.#serve(registration, stream, connection).catch((err: unknown) => {
          this.#log.error('%s: serving a request from %p failed - %e', registration.protocol, connection.remotePeer, err)
          stream.abort(err instanceof Error ? err : new Error(String(err)))
        })
      },
      {
        runOnLimitedConnection: true,
        maxInboundStreams: registration.maxConcurrent + BUSY_HEADROOM_STREAMS,
        maxOutboundStreams: this.#maxOutboundStreams,
      },
    )
  }

  async #serve(registration: Registration, stream: Stream, connection: Connection): Promise<void> {
    const { protocol } = registration
    const peer = connection.remotePeer
    const started = performance.now()
    let outcome: RequestOutcome = 'error'
    const lp = this.#lp(stream)

    // Refuse before reading anything: a busy server should spend as little as possible per request.
    if (registration.active >= registration.maxConcurrent) {
      this.#refused(protocol, 'server', 'busy', peer)
      await this.#reply(stream, lp, encodeError(WireErrorCode.busy, `at most ${registration.maxConcurrent} concurrent requests`))
      this.#complete(protocol, 'server', started, 'busy', peer)
      return
    }

    // The slot is taken from stream open to handler return, so slow senders count against it too.
    registration.active++
    let slotHandedToHandler = false
    const closed = new AbortController()
    const onClose = (): void => closed.abort(new Error('stream closed'))
    stream.addEventListener('close', onClose, { once: true })
    const timeoutSignal = AbortSignal.timeout(registration.timeoutMs)
    const signal = AbortSignal.any([timeoutSignal, closed.signal, this.#stopController.signal])
    setMaxListeners(Infinity, signal)

    try {
      let frame: Uint8Array
      try {
        frame = (await lp.read({ signal })).subarray()
      } catch (err) {
        outcome = await this.#onReadError(protocol, stream, lp, err, timeoutSignal, peer)
        return
      }

      const decoded = decodeRequest(frame)
      const checked = decoded.ok ? registration.validate(decoded.value) : decoded
      if (!checked.ok) {
        const code =
          !decoded.ok && decoded.reason === 'unsupported-version' ? WireErrorCode.unsupportedVersion : WireErrorCode.invalidRequest
        this.#log('%s: invalid request from %p - %s', protocol, peer, checked.detail)
        this.#refused(protocol, 'server', 'invalid', peer)
        await this.#reply(stream, lp, encodeError(code, checked.detail))
        outcome = 'invalid'
        return
      }

      const work = checked.call({ peer, connection, signal })
      // A handler that ignores its signal keeps its slot until it really returns: the limit
      // counts work actually running, not just requests we are still waiting on.
      slotHandedToHandler = true
      const settled: Promise<Settled> = work.then(
        (value) => ({ kind: 'value', value }),
        (error: unknown) => ({ kind: 'thrown', error }),
      )
      void settled.then(() => {
        registration.active--
      })

      let result: Settled
      try {
        result = await raceSignal(settled, signal)
      } catch {
        if (timeoutSignal.aborted) {
          await this.#reply(stream, lp, encodeError(WireErrorCode.timeout, `handler did not finish within ${registration.timeoutMs} ms`))
          outcome = 'timeout'
        } else {
          // The caller went away (reset or closed) or we are stopping: nobody to answer.
          stream.abort(new Error('request abandoned'))
          outcome = 'error'
        }
        return
      }

      if (result.kind === 'thrown') {
        const { code, message } = describeHandlerError(result.error)
        this.#log('%s: handler failed for %p (%s) - %s', protocol, peer, code, message)
        await this.#reply(stream, lp, encodeError(code, message))
        outcome = 'handler-error'
        return
      }

      const response = encodeResponse({ v: RR_ENVELOPE_VERSION, ok: true, body: result.value })
      if (!response.ok) {
        await this.#reply(stream, lp, encodeError(WireErrorCode.handlerError, `response ${response.detail}`))
        outcome = 'handler-error'
      } else if (response.bytes.byteLength > this.#maxMessageBytes) {
        await this.#reply(
          stream,
          lp,
          encodeError(
            WireErrorCode.tooLarge,
            `response is ${response.bytes.byteLength} bytes, more than the ${this.#maxMessageBytes} byte limit`,
          ),
        )
        outcome = 'too-large'
      } else {
        outcome = (await this.#reply(stream, lp, response.bytes)) ? 'ok' : 'error'
      }
    } finally {
      stream.removeEventListener('close', onClose)
      if (!slotHandedToHandler) registration.active--
      this.#complete(protocol, 'server', started, outcome, peer)
    }
  }

  async #onReadError(
    protocol: string,
    stream: Stream,
    lp: LengthPrefixedStream<Stream>,
    err: unknown,
    timeoutSignal: AbortSignal,
    peer: PeerId,
  ): Promise<RequestOutcome> {
    const name = err instanceof Error ? err.name : ''
    if (FRAME_TOO_LARGE_ERRORS.has(name)) {
      // lpStream rejected the frame from its length prefix alone, before buffering the body.
      this.#log('%s: oversized request from %p - %e', protocol, peer, err)
      this.#refused(protocol, 'server', 'too-large', peer)
      await this.#reply(stream, lp, encodeError(WireErrorCode.tooLarge, `request frame exceeds the ${this.#maxMessageBytes} byte limit`))
      // The sender is still streaming the oversized body: reset so it stops, now that the reply is out.
      if (stream.remoteWriteStatus === 'writable') stream.abort(new MessageTooLargeError(protocol, 'request frame too large'))
      return 'too-large'
    }
    if (timeoutSignal.aborted) {
      await this.#reply(stream, lp, encodeError(WireErrorCode.timeout, 'request not received in time'))
      return 'timeout'
    }
    // Closed before a whole frame arrived, reset, or we are stopping.
    this.#log('%s: no request read from %p - %e', protocol, peer, err)
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    return 'error'
  }

  /** Writes one frame and half-closes; false when the stream was already gone or it failed. */
  async #reply(stream: Stream, lp: LengthPrefixedStream<Stream>, bytes: Uint8Array): Promise<boolean> {
    if (stream.writeStatus !== 'writable') return false
    const signal = AbortSignal.timeout(REPLY_GRACE_MS)
    setMaxListeners(Infinity, signal)
    try {
      await lp.write(bytes, { signal })
      await stream.close({ signal })
      return true
    } catch (err) {
      this.#log('%s: could not write reply - %e', stream.protocol, err)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      return false
    }
  }

  #lp(stream: Stream): LengthPrefixedStream<Stream> {
    return lpStream(stream, { maxDataLength: this.#maxMessageBytes, maxBufferSize: this.#maxMessageBytes + READ_SLACK_BYTES })
  }

  #complete(protocol: string, side: RequestSide, started: number, outcome: RequestOutcome, peer: PeerId | undefined): void {
    this.safeDispatchEvent<RequestCompleteDetail>('request:complete', {
      detail: { protocol, side, durationMs: performance.now() - started, outcome, peer },
    })
  }

  #refused(protocol: string, side: RequestSide, reason: RefusalReason, peer: PeerId | undefined): void {
    this.safeDispatchEvent<RequestRefusedDetail>('request:refused', { detail: { protocol, side, reason, peer } })
  }
}

/** The libp2p service factory: `services: { rr: requestResponse({ maxMessageBytes: 1 << 20 }) }`. */
export function requestResponse(init: RequestResponseInit): (components: RequestResponseComponents) => RequestResponse {
  return (components) => new RequestResponse(components, init)
}

/** Maps a wire error code back to the error class callers branch on. */
export function errorFromWire(protocol: string, code: string, message: string): Error {
  switch (code) {
    case WireErrorCode.busy:
      return new RemoteBusyError(protocol, message)
    case WireErrorCode.tooLarge:
      return new MessageTooLargeError(protocol, `refused by the remote: ${message}`)
    case WireErrorCode.invalidRequest:
    case WireErrorCode.unsupportedVersion:
      return new InvalidRequestError(protocol, message, true)
    case WireErrorCode.timeout:
      return new RequestTimeoutError(protocol, `remote: ${message}`, true)
    default:
      return new RemoteHandlerError(protocol, code, message)
  }
}

/** The wire code and message for an error a handler threw. */
export function describeHandlerError(error: unknown): { code: string; message: string } {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
  return {
    code: typeof code === 'string' && code !== '' ? code : WireErrorCode.handlerError,
    message: error instanceof Error ? error.message : String(error),
  }
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

function peerOf(target: PeerId | Multiaddr): PeerId | undefined {
  if (isPeerId(target)) return target
  // The last /p2p component names the peer; before it there may be a relay's /p2p (circuit addresses).
  const id = target.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (id == null) return undefined
  try {
    return peerIdFromString(id)
  } catch {
    return undefined
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}

/** Resolves or rejects with `promise`, or rejects with the signal's reason once it aborts. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
