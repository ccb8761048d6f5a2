// Errors a request/response caller can branch on by `name`, one small class per failure.
// Remote failures arrive as a wire code; `errorFromWire` turns each code back into its class.

/** The encoded request or response is larger than `maxMessageBytes` (locally or as the remote saw it). */
export class MessageTooLargeError extends Error {
  override readonly name = 'MessageTooLargeError'
  readonly protocol: string
  /** Size in bytes, when known (the remote does not tell us how big its view of the frame was). */
  readonly size: number | undefined
  readonly limit: number | undefined

  constructor(protocol: string, message: string, size?: number, limit?: number) {
    super(`${protocol}: ${message}`)
    this.protocol = protocol
    this.size = size
    this.limit = limit
  }
}

/** No response within the timeout: ours (the caller's clock) or the remote handler's. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError'
  readonly protocol: string
  /** True when the remote reported that its handler ran out of time. */
  readonly remote: boolean

  constructor(protocol: string, message: string, remote = false) {
    super(`${protocol}: ${message}`)
    this.protocol = protocol
    this.remote = remote
  }
}

/** The remote was already running its limit of handlers for this protocol; retry later. */
export class RemoteBusyError extends Error {
  override readonly name = 'RemoteBusyError'
  readonly protocol: string

  constructor(protocol: string, message: string) {
    super(`${protocol}: ${message}`)
    this.protocol = protocol
  }
}

/** The remote handler failed; `code` is its own string `code` property or `handler-error`. */
export class RemoteHandlerError extends Error {
  override readonly name = 'RemoteHandlerError'
  readonly protocol: string
  readonly code: string
  /** The handler error's message, without our protocol prefix. */
  readonly remoteMessage: string

  constructor(protocol: string, code: string, message: string) {
    super(`${protocol}: remote handler failed (${code}): ${message}`)
    this.protocol = protocol
    this.code = code
    this.remoteMessage = message
  }
}

/** The request fails the protocol's request schema (checked before sending, and again by the remote). */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError'
  readonly protocol: string
  /** True when the remote refused it (its schema differs from ours, or the envelope was malformed). */
  readonly remote: boolean

  constructor(protocol: string, message: string, remote = false) {
    super(`${protocol}: invalid request: ${message}`)
    this.protocol = protocol
    this.remote = remote
  }
}

/** The response is not a valid envelope, or its body fails the protocol's response schema. */
export class InvalidResponseError extends Error {
  override readonly name = 'InvalidResponseError'
  readonly protocol: string

  constructor(protocol: string, message: string) {
    super(`${protocol}: invalid response: ${message}`)
    this.protocol = protocol
  }
}

/** The remote does not serve this protocol (multistream-select found no match). */
export class ProtocolNotSupportedError extends Error {
  override readonly name = 'ProtocolNotSupportedError'
  readonly protocol: string

  constructor(protocol: string, options?: ErrorOptions) {
    super(`${protocol}: protocol not supported by the remote peer`, options)
    this.protocol = protocol
  }
}

/** `handle()` was called twice for one protocol without `unhandle()` in between. */
export class ProtocolAlreadyHandledError extends Error {
  override readonly name = 'ProtocolAlreadyHandledError'

  constructor(protocol: string) {
    super(`${protocol}: already has a request/response handler`)
  }
}
