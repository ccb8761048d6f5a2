// What request/response reports about each request, on both sides: the service's events and the
// one sink the client and server modules report through.
import type { PeerId } from '@libp2p/interface'

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

export interface RequestEventSink {
  /** `started` is the `performance.now()` the request began at. */
  complete(protocol: string, side: RequestSide, started: number, outcome: RequestOutcome, peer: PeerId | undefined): void
  refused(protocol: string, side: RequestSide, reason: RefusalReason, peer: PeerId | undefined): void
}
