// Errors of the bulk transfer protocol: one class, branch on `code` (the wire codes of codec.ts).
import { ProtocolError } from '../protocol-error.js'
import { BULK_PROTOCOL } from './codec.js'

export class BulkTransferError extends ProtocolError {
  override readonly name = 'BulkTransferError'
  /** A BulkErrorCode, or 'closed' when the stream ended before the transfer did. */
  readonly code: string
  /** True when the remote reported it; false for what this node found itself. */
  readonly remote: boolean

  constructor(code: string, message: string, remote: boolean, options?: ErrorOptions) {
    super(BULK_PROTOCOL, `${BULK_PROTOCOL}: ${message}`, options)
    this.code = code
    this.remote = remote
  }
}
