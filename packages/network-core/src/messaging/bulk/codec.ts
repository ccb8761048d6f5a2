// The bulk transfer wire format (`/hypha/bulk/1.0.0`). Control frames are length-prefixed JSON;
// payload bytes travel raw between them, their count fixed by the frames around them:
// - pull: `{op:"pull",name,offset}` -> `{ok:true,size,sha256}` (or an error frame), then the
//   bytes [offset, size), then the server closes its end.
// - push: `{op:"push",name,size,sha256}` -> `{ok:true,offset}` (what the server already holds of
//   that payload, to resume from), the bytes [offset, size), then `{ok:true}` once the server has
//   checked size and sha256 and stored the payload, or an error frame. Only then EOF.
import { z } from 'zod'
import { formatZodError, MAX_CODE_CHARS, MAX_ERROR_MESSAGE_CHARS } from '../wire-text.js'

export const BULK_PROTOCOL = '/hypha/bulk/1.0.0'
/** Control frames are small: names, sizes, digests and error text. */
export const MAX_CONTROL_FRAME_BYTES = 4 * 1024

/** Payload names: one path segment, so a name can never reach outside the store's directory. */
export const PAYLOAD_NAME = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'a payload name is 1-200 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit')
const SHA256_HEX = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 is 64 lowercase hex digits')
const SIZE = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

export const BulkRequest = z.discriminatedUnion('op', [
  z.object({ op: z.literal('pull'), name: PAYLOAD_NAME, offset: SIZE }),
  z.object({ op: z.literal('push'), name: PAYLOAD_NAME, size: SIZE, sha256: SHA256_HEX }),
])
export type BulkRequest = z.infer<typeof BulkRequest>

export const BulkErrorFrame = z.object({ ok: z.literal(false), code: z.string().max(MAX_CODE_CHARS), message: z.string().max(MAX_ERROR_MESSAGE_CHARS) })
export const PullHeader = z.union([z.object({ ok: z.literal(true), size: SIZE, sha256: SHA256_HEX }), BulkErrorFrame])
export const PushReady = z.union([z.object({ ok: z.literal(true), offset: SIZE }), BulkErrorFrame])
export const PushDone = z.union([z.object({ ok: z.literal(true) }), BulkErrorFrame])

/** Error codes on the wire; also the `code` of BulkTransferError. */
export const BulkErrorCode = {
  notFound: 'not-found',
  busy: 'busy',
  tooLarge: 'too-large',
  invalid: 'invalid-request',
  integrity: 'integrity',
  offset: 'bad-offset',
  /** The node's access policy refused this peer this payload (BulkTransfer.setAccessPolicy). */
  forbidden: 'forbidden',
  internal: 'internal',
} as const

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeControl(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

export function decodeControl<T>(schema: z.ZodType<T>, bytes: Uint8Array): { ok: true; value: T } | { ok: false; detail: string } {
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch {
    return { ok: false, detail: 'control frame is not UTF-8 JSON' }
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) return { ok: false, detail: formatZodError(parsed.error) }
  return { ok: true, value: parsed.data }
}
