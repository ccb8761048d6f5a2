// The serving side of request/response: a handler per protocol, schema-checked requests, one
// concurrency limit and timeout per protocol. A stream is either one v1 exchange or a v2 session
// (many requests with ids, answered in any order); the first frame says which (see codec.ts).
import type { Connection, Logger, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { raceSignal } from 'race-signal'
import type { Uint8ArrayList } from 'uint8arraylist'
import {
  decodeBody,
  decodeOpening,
  decodeSessionFrameHead,
  encodeBody,
  encodeError,
  encodeSessionError,
  encodeSessionFrame,
  FrameKind,
  SESSION_ACCEPT,
  SESSION_FRAME_OVERHEAD,
  WireErrorCode,
  wrapV1Response,
} from './codec.js'
import { FrameReader, lengthPrefixed } from '../frames.js'
import type { RequestEventSink, RequestOutcome } from './events.js'

export interface HandlerContext {
  peer: PeerId
  connection: Connection
  /** Aborts when the handler's time is up, the caller goes away (gave up, closed or reset), or the service stops. */
  signal: AbortSignal
}

export type RequestHandler<Req, Res> = (request: Req, context: HandlerContext) => Promise<Res> | Res

/** A handler bound to its schema: checks a request body and, when it passes, runs the typed handler. */
export type BoundHandler = (body: unknown) => { ok: true; call: (context: HandlerContext) => Promise<unknown> } | { ok: false; detail: string }

export interface Registration {
  protocol: string
  maxConcurrent: number
  timeoutMs: number
  /** Handlers running now (all peers and streams together). */
  active: number
  validate: BoundHandler
}

export interface ServerInit {
  registrar: Registrar
  log: Logger
  events: RequestEventSink
  maxMessageBytes: number
  maxOutboundStreams: number
  /** Aborted when the service stops: every running handler's signal follows it. */
  stopSignal: () => AbortSignal
}

// libp2p resets inbound streams above maxInboundStreams (per connection) with no reply at all;
// this headroom above maxConcurrent is where excess v1 requests still get a structured `busy`.
const BUSY_HEADROOM_STREAMS = 32
// Writing a refusal or an error reply gets its own short budget: the request's budget may
// already be spent (that is often why we are replying).
const REPLY_GRACE_MS = 2_000

type Settled = { kind: 'value'; value: unknown } | { kind: 'thrown'; error: unknown }

/** What one handler run ended as, and the bytes to send back (undefined: nothing to send). */
interface HandlerResult {
  outcome: RequestOutcome
  reply: { ok: true; body: Uint8Array } | { ok: false; code: string; message: string } | undefined
}

export class RequestResponseServer {
  readonly #init: ServerInit

  constructor(init: ServerInit) {
    this.#init = init
  }

  async register(registration: Registration): Promise<void> {
    await this.#init.registrar.handle(
      registration.protocol,
      (stream, connection) => {
        this.#accept(registration, stream, connection)
      },
      {
        runOnLimitedConnection: true,
        maxInboundStreams: registration.maxConcurrent + BUSY_HEADROOM_STREAMS,
        maxOutboundStreams: this.#init.maxOutboundStreams,
      },
    )
  }

  async unregister(protocol: string): Promise<void> {
    await this.#init.registrar.unhandle(protocol)
  }

  /** Reads the first frame; it decides between one v1 exchange and a session. */
  #accept(registration: Registration, stream: Stream, connection: Connection): void {
    const { protocol } = registration
    const peer = connection.remotePeer
    const started = performance.now()
    const { events, log } = this.#init
    // The opening must arrive within the protocol's timeout, like a v1 request always had to.
    const timer = setTimeout(() => {
      detach()
      void this.#replyOnce(stream, encodeError(WireErrorCode.timeout, 'request not received in time')).then(() => {
        events.complete(protocol, 'server', started, 'timeout', peer)
      })
    }, registration.timeoutMs)
    const onClose = (): void => {
      detach()
      log('%s: stream from %p closed before a request arrived', protocol, peer)
      events.complete(protocol, 'server', started, 'error', peer)
    }
    const reader = new FrameReader(this.#init.maxMessageBytes, {
      frame: (payload) => {
        detach()
        const opening = decodeOpening(payload)
        if (!opening.ok) {
          const code = opening.reason === 'unsupported-version' ? WireErrorCode.unsupportedVersion : WireErrorCode.invalidRequest
          log('%s: invalid request from %p - %s', protocol, peer, opening.detail)
          events.refused(protocol, 'server', 'invalid', peer)
          void this.#replyOnce(stream, encodeError(code, opening.detail)).then(() => {
            events.complete(protocol, 'server', started, 'invalid', peer)
          })
        } else if (opening.value.kind === 'session') {
          new ServerSession(this.#init, registration, stream, connection).start(reader.handOver())
        } else {
          reader.handOver()
          void this.#exchange(registration, stream, connection, opening.value.body, started)
        }
      },
      oversized: () => {
        detach()
        log('%s: oversized request from %p', protocol, peer)
        events.refused(protocol, 'server', 'too-large', peer)
        void this.#replyOnce(stream, encodeError(WireErrorCode.tooLarge, `request frame exceeds the ${this.#init.maxMessageBytes} byte limit`)).then(
          () => {
            // The sender is still streaming the oversized body: reset so it stops, now that the reply is out.
            if (stream.remoteWriteStatus === 'writable') stream.abort(new Error('request frame too large'))
            events.complete(protocol, 'server', started, 'too-large', peer)
          },
        )
      },
      malformed: (detail) => {
        detach()
        log('%s: malformed frame from %p - %s', protocol, peer, detail)
        stream.abort(new Error(detail))
        events.complete(protocol, 'server', started, 'error', peer)
      },
    })
    const onMessage = (event: StreamMessageEvent): void => reader.push(event.data)
    const detach = (): void => {
      clearTimeout(timer)
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onClose)
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onClose)
  }

  /** A v1 exchange: one request, one reply, then the stream closes. */
  async #exchange(registration: Registration, stream: Stream, connection: Connection, body: unknown, started: number): Promise<void> {
    const { protocol } = registration
    const peer = connection.remotePeer
    const closed = new AbortController()
    const onClose = (): void => closed.abort(new Error('stream closed'))
    stream.addEventListener('close', onClose, { once: true })
    let outcome: RequestOutcome = 'error'
    try {
      const remaining = Math.max(1, registration.timeoutMs - (performance.now() - started))
      const result = await runHandler(this.#init, registration, body, { peer, connection }, remaining, closed.signal)
      outcome = result.outcome
      if (result.reply === undefined) {
        stream.abort(new Error('request abandoned'))
        return
      }
      const bytes = result.reply.ok ? wrapV1Response(result.reply.body) : encodeError(result.reply.code, result.reply.message)
      if (result.reply.ok && bytes.byteLength > this.#init.maxMessageBytes) {
        outcome = 'too-large'
        await this.#replyOnce(stream, encodeError(WireErrorCode.tooLarge, tooLargeResponse(bytes.byteLength, this.#init.maxMessageBytes)))
      } else if (!(await this.#replyOnce(stream, bytes)) && outcome === 'ok') {
        outcome = 'error'
      }
    } finally {
      stream.removeEventListener('close', onClose)
      this.#init.events.complete(protocol, 'server', started, outcome, peer)
    }
  }

  /** Writes one frame and half-closes; false when the stream was already gone or it failed. */
  async #replyOnce(stream: Stream, bytes: Uint8Array): Promise<boolean> {
    if (stream.writeStatus !== 'writable') return false
    const signal = AbortSignal.timeout(REPLY_GRACE_MS)
    try {
      if (!stream.send(lengthPrefixed(bytes))) await stream.onDrain({ signal })
      await stream.close({ signal })
      return true
    } catch (err) {
      this.#init.log('%s: could not write reply - %e', stream.protocol, err)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      return false
    }
  }
}

/** One session stream: requests with ids, handled concurrently, replies in completion order. */
class ServerSession {
  readonly #init: ServerInit
  readonly #registration: Registration
  readonly #stream: Stream
  readonly #connection: Connection
  readonly #reader: FrameReader
  /** Aborts for each running request: the caller's cancel frame, the session closing, or the service stopping. */
  readonly #running = new Map<number, AbortController>()
  #remoteDone = false

  constructor(init: ServerInit, registration: Registration, stream: Stream, connection: Connection) {
    this.#init = init
    this.#registration = registration
    this.#stream = stream
    this.#connection = connection
    this.#reader = new FrameReader(init.maxMessageBytes + SESSION_FRAME_OVERHEAD, {
      frame: (payload) => this.#onFrame(payload),
      oversized: (length, head) => this.#onOversized(length, head),
      malformed: (detail) => this.#fail(detail),
    })
  }

  /** `pending`: bytes that arrived behind the opening frame, already read off the stream. */
  start(pending: Uint8ArrayList): void {
    const stream = this.#stream
    this.#send(SESSION_ACCEPT, true)
    if (pending.byteLength > 0) this.#reader.push(pending)
    stream.addEventListener('message', (event) => this.#reader.push(event.data))
    stream.addEventListener('remoteCloseWrite', () => {
      this.#remoteDone = true
      this.#maybeClose()
    })
    stream.addEventListener('close', () => {
      for (const controller of this.#running.values()) controller.abort(new Error('session closed'))
      this.#running.clear()
    })
  }

  #onFrame(payload: Uint8Array): void {
    const head = decodeSessionFrameHead(payload)
    if (head === undefined) {
      this.#fail('session frame without kind and id')
      return
    }
    if (head.kind === FrameKind.cancel) {
      this.#running.get(head.id)?.abort(new Error('cancelled by the caller'))
      return
    }
    if (head.kind !== FrameKind.request) {
      this.#fail(`unexpected session frame kind ${head.kind}`)
      return
    }
    void this.#serve(head.id, payload.subarray(head.bodyOffset))
  }

  async #serve(id: number, bodyBytes: Uint8Array): Promise<void> {
    const { events, log } = this.#init
    const registration = this.#registration
    const { protocol } = registration
    const peer = this.#connection.remotePeer
    const started = performance.now()
    if (this.#running.has(id)) {
      this.#reply(id, { ok: false, code: WireErrorCode.invalidRequest, message: `request id ${id} is already in flight` })
      events.refused(protocol, 'server', 'invalid', peer)
      events.complete(protocol, 'server', started, 'invalid', peer)
      return
    }
    const body = decodeBody(bodyBytes)
    if (!body.ok) {
      log('%s: invalid request from %p - %s', protocol, peer, body.detail)
      this.#reply(id, { ok: false, code: WireErrorCode.invalidRequest, message: body.detail })
      events.refused(protocol, 'server', 'invalid', peer)
      events.complete(protocol, 'server', started, 'invalid', peer)
      return
    }
    const controller = new AbortController()
    this.#running.set(id, controller)
    let outcome: RequestOutcome = 'error'
    try {
      const result = await runHandler(this.#init, registration, body.value, { peer, connection: this.#connection }, registration.timeoutMs, controller.signal)
      outcome = result.outcome
      if (result.reply !== undefined) {
        if (result.reply.ok && result.reply.body.byteLength > this.#init.maxMessageBytes) {
          outcome = 'too-large'
          this.#reply(id, { ok: false, code: WireErrorCode.tooLarge, message: tooLargeResponse(result.reply.body.byteLength, this.#init.maxMessageBytes) })
        } else if (!this.#reply(id, result.reply) && outcome === 'ok') {
          outcome = 'error'
        }
      }
    } finally {
      this.#running.delete(id)
      events.complete(protocol, 'server', started, outcome, peer)
      this.#maybeClose()
    }
  }

  #onOversized(length: number, head: Uint8Array): void {
    const { protocol } = this.#registration
    const peer = this.#connection.remotePeer
    const frameHead = decodeSessionFrameHead(head)
    this.#init.log('%s: oversized request (%d bytes) from %p', protocol, length, peer)
    this.#init.events.refused(protocol, 'server', 'too-large', peer)
    this.#init.events.complete(protocol, 'server', performance.now(), 'too-large', peer)
    if (frameHead === undefined || frameHead.kind !== FrameKind.request) {
      this.#fail('oversized frame that is not a request')
      return
    }
    // The reader drops the body as it arrives; the session carries on.
    this.#reply(frameHead.id, { ok: false, code: WireErrorCode.tooLarge, message: `request frame exceeds the ${this.#init.maxMessageBytes} byte limit` })
  }

  /** Sends a reply frame; false when the session can no longer carry it. */
  #reply(id: number, reply: NonNullable<HandlerResult['reply']>): boolean {
    const frame = reply.ok
      ? encodeSessionFrame(FrameKind.response, id, reply.body)
      : encodeSessionFrame(FrameKind.error, id, encodeSessionError(reply.code, reply.message))
    return this.#send(frame, false)
  }

  #send(bytes: Uint8Array | Uint8ArrayList, prefix: boolean): boolean {
    const stream = this.#stream
    if (stream.writeStatus !== 'writable') return false
    try {
      const accepted = stream.send(prefix && bytes instanceof Uint8Array ? lengthPrefixed(bytes) : bytes)
      // A caller that does not read its replies stops being read: no new requests until it drains.
      if (!accepted && stream.readStatus === 'readable') {
        stream.pause()
        void stream.onDrain().then(
          () => stream.resume(),
          () => {},
        )
      }
      return true
    } catch (err) {
      this.#fail(`could not write a reply: ${err instanceof Error ? err.message : String(err)}`)
      return false
    }
  }

  #maybeClose(): void {
    if (!this.#remoteDone || this.#running.size > 0) return
    const signal = AbortSignal.timeout(REPLY_GRACE_MS)
    this.#stream.close({ signal }).catch((err: unknown) => this.#stream.abort(err instanceof Error ? err : new Error(String(err))))
  }

  #fail(detail: string): void {
    this.#init.log('%s: closing the session with %p - %s', this.#registration.protocol, this.#connection.remotePeer, detail)
    this.#stream.abort(new Error(detail))
  }
}

/**
 * Runs one request through its handler under the protocol's limit and timeout. `abandoned`
 * aborts when nobody is left to answer (stream or session gone, caller cancelled).
 */
async function runHandler(
  init: ServerInit,
  registration: Registration,
  body: unknown,
  origin: { peer: PeerId; connection: Connection },
  timeoutMs: number,
  abandoned: AbortSignal,
): Promise<HandlerResult> {
  const { protocol } = registration
  const { events, log } = init
  const { peer } = origin
  // Refuse before anything else: a busy server should spend as little as possible per request.
  if (registration.active >= registration.maxConcurrent) {
    events.refused(protocol, 'server', 'busy', peer)
    return { outcome: 'busy', reply: { ok: false, code: WireErrorCode.busy, message: `at most ${registration.maxConcurrent} concurrent requests` } }
  }
  const checked = registration.validate(body)
  if (!checked.ok) {
    log('%s: invalid request from %p - %s', protocol, peer, checked.detail)
    events.refused(protocol, 'server', 'invalid', peer)
    return { outcome: 'invalid', reply: { ok: false, code: WireErrorCode.invalidRequest, message: checked.detail } }
  }

  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(new Error('handler timeout')), timeoutMs)
  const signal = AbortSignal.any([timeout.signal, abandoned, init.stopSignal()])
  registration.active++
  const work = checked.call({ ...origin, signal })
  // A handler that ignores its signal keeps its slot until it really returns: the limit counts
  // work actually running, not just requests we are still waiting on.
  const settled: Promise<Settled> = work.then(
    (value) => ({ kind: 'value', value }),
    (error: unknown) => ({ kind: 'thrown', error }),
  )
  void settled.then(() => {
    registration.active--
  })
  try {
    const result = await raceSignal(settled, signal)
    if (result.kind === 'thrown') {
      const { code, message } = describeHandlerError(result.error)
      log('%s: handler failed for %p (%s) - %s', protocol, peer, code, message)
      return { outcome: 'handler-error', reply: { ok: false, code, message } }
    }
    const encoded = encodeBody(result.value)
    if (!encoded.ok) return { outcome: 'handler-error', reply: { ok: false, code: WireErrorCode.handlerError, message: `response ${encoded.detail}` } }
    return { outcome: 'ok', reply: { ok: true, body: encoded.bytes } }
  } catch {
    if (timeout.signal.aborted) {
      return { outcome: 'timeout', reply: { ok: false, code: WireErrorCode.timeout, message: `handler did not finish within ${registration.timeoutMs} ms` } }
    }
    // The caller went away or we are stopping: nobody to answer.
    return { outcome: 'error', reply: undefined }
  } finally {
    clearTimeout(timer)
  }
}

function tooLargeResponse(size: number, limit: number): string {
  return `response is ${size} bytes, more than the ${limit} byte limit`
}

/** The wire code and message for an error a handler threw. */
export function describeHandlerError(error: unknown): { code: string; message: string } {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
  return {
    code: typeof code === 'string' && code !== '' ? code : WireErrorCode.handlerError,
    message: error instanceof Error ? error.message : String(error),
  }
}

