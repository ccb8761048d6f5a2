// The one base class of every messaging error (request/response, pub/sub, bulk transfer): callers
// can catch `ProtocolError` for "the messaging layer refused or failed this", and branch on
// `name` (stable, fit for metric labels) for the exact reason.

export abstract class ProtocolError extends Error {
  abstract override readonly name: string
  /** The protocol id or pub/sub topic the failure concerns; undefined for layer-wide failures. */
  readonly protocol: string | undefined

  constructor(protocol: string | undefined, message: string, options?: ErrorOptions) {
    super(message, options)
    this.protocol = protocol
  }
}
