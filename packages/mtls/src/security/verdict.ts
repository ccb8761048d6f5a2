// The explicit verdict each side sends after checking the other's certificate. Without it a
// TLS 1.3 client whose certificate the server refuses sees a successful handshake and then a
// silent close; with it both sides learn the reason. Frame: status byte, uint16 length, UTF-8.
import type { RefusalReason } from '../verify/errors.js'

const ACCEPTED = 0
const REFUSED = 1
/** Details are for humans; a bound keeps a hostile peer from making us buffer much. */
export const MAX_VERDICT_TEXT = 1024

export type Verdict = { accepted: true } | { accepted: false; reason: RefusalReason | string; detail: string }

export const VERDICT_HEADER_BYTES = 3

export function encodeVerdict(verdict: Verdict): Uint8Array {
  const text = verdict.accepted ? '' : truncate(`${verdict.reason}\n${verdict.detail}`)
  const body = Buffer.from(text, 'utf8')
  const frame = Buffer.alloc(VERDICT_HEADER_BYTES + body.byteLength)
  frame.writeUInt8(verdict.accepted ? ACCEPTED : REFUSED, 0)
  frame.writeUInt16BE(body.byteLength, 1)
  body.copy(frame, VERDICT_HEADER_BYTES)
  return frame
}

/** Parses the header: the status and how many text bytes follow. */
export function decodeVerdictHeader(header: Uint8Array): { accepted: boolean; textBytes: number } {
  const buf = Buffer.from(header.buffer, header.byteOffset, header.byteLength)
  const status = buf.readUInt8(0)
  const textBytes = buf.readUInt16BE(1)
  if ((status !== ACCEPTED && status !== REFUSED) || textBytes > MAX_VERDICT_TEXT * 4) {
    throw new Error(`malformed verdict (status ${status}, ${textBytes} bytes)`)
  }
  return { accepted: status === ACCEPTED, textBytes }
}

export function decodeVerdictText(text: Uint8Array): { reason: string; detail: string } {
  const value = Buffer.from(text).toString('utf8')
  const newline = value.indexOf('\n')
  return newline < 0 ? { reason: value, detail: '' } : { reason: value.slice(0, newline), detail: value.slice(newline + 1) }
}

function truncate(text: string): string {
  return text.length > MAX_VERDICT_TEXT ? `${text.slice(0, MAX_VERDICT_TEXT - 1)}…` : text
}
