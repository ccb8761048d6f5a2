// Errors a request/response caller can branch on by `name`, one small class per failure.
// Remote failures arrive as a wire code; `errorFromWire` turns each code back into its class.
import { ProtocolError } from '../protocol-error.js'
import { WireErrorCode } from './codec.js'

/** The encoded request or response is larger than `maxMessageBytes` (locally or as the remote saw it). */
export class MessageTooLargeError extends ProtocolError {
  override readonly name = 'MessageTooLargeError'
  declare readonly protocol: string
  /** Size in bytes, when known (the remote does not tell us how big its view of the frame was). */
  readonly size: number | undefined
  readonly limit: number | undefined

  constructor(protocol: string, message: string, size?: number, limit?: number) {
    super(protocol, `${protocol}: ${message}`)
    this.size = size
    this.limit = limit
  }
}

/** No response within the timeout: ours (the caller's clock) or the remote handler's. */
export class RequestTimeoutError extends ProtocolError {
  override readonly name = 'RequestTimeoutError'
  declare readonly protocol: string
  /** True when the remote reported that its handler ran out of time. */
  readonly remote: boolean

  constructor(protocol: string, message: string, remote = false) {
    super(protocol, `${protocol}: ${message}`)
    this.remote = remote
  }
}

/** The remote was already running its limit of handlers for this protocol; retry later. */
export class RemoteBusyError extends ProtocolError {
  override readonly name = 'RemoteBusyError'
  declare readonly protocol: string

  constructor(protocol: string, message: string) {
    super(protocol, `${protocol}: ${message}`)
  }
}

/** The remote handler failed; `code` is its own string `code` property or `handler-error`. */
export class RemoteHandlerError extends ProtocolError {
  override readonly name = 'RemoteHandlerError'
  declare readonly protocol: string
  readonly code: string
  /** The handler error's message, without our protocol prefix. */
  readonly remoteMessage: string

  constructor(protocol: string, code: string, message: string) {
    super(protocol, `${protocol}: remote handler failed (${code}): ${message}`)
    this.code = code
    this.remoteMessage = message
  }
}

/** The request fails the protocol's request schema (checked before sending, and again by the remote). */
export class InvalidRequestError extends ProtocolError {
  override readonly name = 'InvalidRequestError'
  declare readonly protocol: string
  /** True when the remote refused it (its schema differs from ours, or the envelope was malformed). */
  readonly remote: boolean

  constructor(protocol: string, message: string, remote = false) {
    super(protocol, `${protocol}: invalid request: ${message}`)
    this.remote = remote
  }
}

/** The response is not a valid envelope, or its body fails the protocol's response schema. */
export class InvalidResponseError extends ProtocolError {
  override readonly name = 'InvalidResponseError'
  declare readonly protocol: string

  constructor(protocol: string, message: string) {
    super(protocol, `${protocol}: invalid response: ${message}`)
  }
}

/** The remote does not serve this protocol (multistream-select found no match). */
export class ProtocolNotSupportedError extends ProtocolError {
  override readonly name = 'ProtocolNotSupportedError'
  declare readonly protocol: string

  constructor(protocol: string, options?: ErrorOptions) {
    super(protocol, `${protocol}: protocol not supported by the remote peer`, options)
  }
}

/** `handle()` was called twice for one protocol without `unhandle()` in between. */
export class ProtocolAlreadyHandledError extends ProtocolError {
  override readonly name = 'ProtocolAlreadyHandledError'

  constructor(protocol: string) {
    super(protocol, `${protocol}: already has a request/response handler`)
  }
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
