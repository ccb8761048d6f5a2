// Typed request/response over libp2p as a service: length-prefixed JSON frames, zod-checked at
// both ends, bounded in frame size, concurrency and time. Calls to a peer ride one long-lived
// session stream per protocol (client.ts); the server (server.ts) also answers one-request
// streams, the format of nodes before sessions (codec.ts has both).
import type { AbortOptions, ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'
import { serviceCapabilities, setMaxListeners, TypedEventEmitter } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { z } from 'zod'
import { positive, RequestResponseClient } from './client.js'
import { formatZodError } from './codec.js'
import { ProtocolAlreadyHandledError } from './errors.js'
import type { RefusalReason, RequestCompleteDetail, RequestEventSink, RequestOutcome, RequestRefusedDetail, RequestResponseEvents, RequestSide } from './events.js'
import { type HandlerContext, type Registration, type RequestHandler, RequestResponseServer } from './server.js'

export type { HandlerContext, RequestHandler } from './server.js'
export { describeHandlerError } from './server.js'
export { errorFromWire } from './errors.js'
export type { RefusalReason, RequestCompleteDetail, RequestOutcome, RequestRefusedDetail, RequestResponseEvents, RequestSide } from './events.js'

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

export interface HandleOptions {
  /** Handlers of this protocol allowed to run at once (all peers together); excess requests get `busy`. */
  maxConcurrent?: number
  /** Time from the request arriving (the stream opening, for a one-request stream) to the response being written. */
  timeoutMs?: number
}

export interface RequestOptions extends AbortOptions {
  /** Milliseconds for the whole exchange: dial, stream, request, response. */
  timeoutMs?: number
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
   * default, 64, would cap concurrent requests to a peer that speaks only one-request streams). @default 1024
   */
  maxOutboundStreams?: number
  /**
   * Requests to a peer share one session stream per protocol. False: a new stream per request
   * (the format before sessions; what a node talking to old peers only would choose). @default true
   */
  sessions?: boolean
  /** A session with nothing in flight for this long is closed; the next request reopens it. @default 60_000 */
  sessionIdleMs?: number
}

export interface RequestResponseComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_MAX_CONCURRENT = 32
const DEFAULT_MAX_OUTBOUND_STREAMS = 1024
const DEFAULT_SESSION_IDLE_MS = 60_000

export class RequestResponse extends TypedEventEmitter<RequestResponseEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@hypha/request-response'
  readonly [serviceCapabilities]: string[] = ['@hypha/request-response']

  readonly #log: Logger
  readonly #maxMessageBytes: number
  readonly #defaultTimeoutMs: number
  readonly #defaultMaxConcurrent: number
  readonly #registrations = new Map<string, Registration>()
  readonly #client: RequestResponseClient
  readonly #server: RequestResponseServer
  #started = false
  // Aborted by stop() so in-flight handlers learn the node is going away.
  #stopController = new AbortController()

  constructor(components: RequestResponseComponents, init: RequestResponseInit) {
    super()
    if (!Number.isInteger(init.maxMessageBytes) || init.maxMessageBytes <= 0) {
      throw new RangeError(`maxMessageBytes must be a positive integer, got ${init.maxMessageBytes}`)
    }
    this.#log = components.logger.forComponent('hypha:messaging:request-response')
    this.#maxMessageBytes = init.maxMessageBytes
    this.#defaultTimeoutMs = positive('defaultTimeoutMs', init.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS)
    this.#defaultMaxConcurrent = positive('defaultMaxConcurrent', init.defaultMaxConcurrent ?? DEFAULT_MAX_CONCURRENT)
    const maxOutboundStreams = positive('maxOutboundStreams', init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS)
    const events: RequestEventSink = {
      complete: (protocol, side, started, outcome, peer) => this.#complete(protocol, side, started, outcome, peer),
      refused: (protocol, side, reason, peer) => this.#refused(protocol, side, reason, peer),
    }
    this.#client = new RequestResponseClient({
      connectionManager: components.connectionManager,
      log: this.#log,
      events,
      maxMessageBytes: this.#maxMessageBytes,
      maxOutboundStreams,
      defaultTimeoutMs: this.#defaultTimeoutMs,
      sessions: init.sessions ?? true,
      sessionIdleMs: positive('sessionIdleMs', init.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS),
    })
    this.#server = new RequestResponseServer({
      registrar: components.registrar,
      log: this.#log,
      events,
      maxMessageBytes: this.#maxMessageBytes,
      maxOutboundStreams,
      stopSignal: () => this.#stopController.signal,
    })
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
    for (const registration of this.#registrations.values()) await this.#server.register(registration)
    this.#started = true
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#stopController.abort(new Error('request/response service stopped'))
    this.#client.closeAll()
    for (const protocol of this.#registrations.keys()) await this.#server.unregister(protocol)
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
        return { ok: true, call: (context: HandlerContext) => new Promise<Res>((resolve) => resolve(handler(request, context))) }
      },
    }
    this.#registrations.set(protocol, registration)
    if (this.#started) {
      try {
        await this.#server.register(registration)
      } catch (err) {
        this.#registrations.delete(protocol)
        throw err
      }
    }
  }

  /** Stops serving `protocol`; requests already running finish normally. */
  async unhandle(protocol: string): Promise<void> {
    if (!this.#registrations.delete(protocol)) return
    if (this.#started) await this.#server.unregister(protocol)
  }

  /**
   * Sends one request and waits for its response. Throws MessageTooLargeError or
   * InvalidRequestError before touching the network, RequestTimeoutError, RemoteBusyError,
   * RemoteHandlerError, InvalidResponseError, ProtocolNotSupportedError, or libp2p's own error
   * (dial failures, a caller abort, a session that broke while the request was in flight).
   */
  request<Req, Res>(
    peer: PeerId | Multiaddr,
    protocol: string,
    schema: MessageSchema<Req, Res>,
    message: NoInfer<Req>,
    options: RequestOptions = {},
  ): Promise<Res> {
    return this.#client.request(peer, protocol, schema, message, options)
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
