// The request/response wire format. Every frame is length-prefixed (unsigned varint). The first
// frame on a stream is a versioned JSON envelope in UTF-8:
// - v1, one exchange per stream: `{"v":1,"body":...}` answered by one response envelope, then
//   both ends close;
// - v2, a session: `{"v":2}` answered by `{"v":2,"ok":true}`; after that each frame is
//   `[kind: u8][request id: uvarint][JSON body]`, many requests in flight, answered in any order.
// A node that speaks only v1 answers the v2 opening with `unsupported-version`, which is how a
// newer client learns to fall back. JSON only: bodies must survive JSON.stringify/parse unchanged.
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'
import { z } from 'zod'
import { formatZodError, MAX_CODE_CHARS, truncate } from '../wire-text.js'

export { formatZodError, truncate }

/**
 * The envelope version this code writes and reads. A later format gets a new number, so a
 * node can tell "a version I do not speak" (`unsupported-version`) from "garbage".
 */
export const RR_ENVELOPE_VERSION = 1

/** The envelope version that opens a session stream (many requests with ids, see the header). */
export const RR_SESSION_VERSION = 2

/** What a session frame carries; the first byte of its payload. */
export const FrameKind = {
  request: 1,
  response: 2,
  error: 3,
  /** The caller gave up on a request (timeout, abort): the handler's signal aborts, no reply follows. */
  cancel: 4,
} as const
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind]

/** Bytes a session frame adds around its JSON body: kind byte plus the id's varint (at most 8 for ids below 2^53). */
export const SESSION_FRAME_OVERHEAD = 1 + 8
/** Bytes the v1 request envelope adds around its body: `{"v":1,"body":}`. */
export const V1_REQUEST_OVERHEAD = '{"v":1,"body":}'.length

/**
 * Error codes on the wire. Stable strings, fit for metric labels; a handler may also send its
 * own code (any other string), which the caller sees as `RemoteHandlerError.code`.
 */
export const WireErrorCode = {
  busy: 'busy',
  tooLarge: 'too-large',
  invalidRequest: 'invalid-request',
  timeout: 'timeout',
  handlerError: 'handler-error',
  unsupportedVersion: 'unsupported-version',
} as const
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode]

export interface WireError {
  code: string
  message: string
}

export type ResponseEnvelope =
  | { v: typeof RR_ENVELOPE_VERSION; ok: true; body: unknown }
  | { v: typeof RR_ENVELOPE_VERSION; ok: false; error: WireError }

/** Why a frame could not be decoded: a version this node does not speak, or anything else. */
export type DecodeFailure = 'malformed' | 'unsupported-version'

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: DecodeFailure; detail: string }


const encoder = new TextEncoder()
// fatal: a malformed byte sequence is an invalid message, not something to paper over with U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true })

// Only the version is checked first, so a v2 envelope is reported as such rather than as malformed.
const versioned = z.object({ v: z.number() })
// `body` is optional because JSON drops `undefined`: a request or response may carry none.
const requestEnvelope = z.object({ v: z.literal(RR_ENVELOPE_VERSION), body: z.unknown().optional() })
const responseEnvelope = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(RR_ENVELOPE_VERSION), ok: z.literal(true), body: z.unknown().optional() }),
  z.object({
    v: z.literal(RR_ENVELOPE_VERSION),
    ok: z.literal(false),
    error: z.object({ code: z.string().max(MAX_CODE_CHARS), message: z.string() }),
  }),
])

/** JSON-encodes a value, or says why it cannot be (cycles, BigInt). */
function encodeJson(value: unknown): { ok: true; bytes: Uint8Array } | { ok: false; detail: string } {
  try {
    return { ok: true, bytes: encoder.encode(JSON.stringify(value)) }
  } catch (err) {
    return { ok: false, detail: `not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}` }
  }
}

/** JSON-encodes a request or response body alone (empty bytes for `undefined`, which JSON cannot hold). */
export function encodeBody(body: unknown): { ok: true; bytes: Uint8Array } | { ok: false; detail: string } {
  if (body === undefined) return { ok: true, bytes: new Uint8Array(0) }
  return encodeJson(body)
}

/** The v1 request envelope around an already encoded body: no second JSON.stringify of the body. */
export function wrapV1Request(body: Uint8Array): Uint8Array {
  return wrapBody(`{"v":${RR_ENVELOPE_VERSION}`, body)
}

// `open` is an envelope's fields before the body, without the closing brace.
function wrapBody(open: string, body: Uint8Array): Uint8Array {
  if (body.byteLength === 0) return encoder.encode(`${open}}`)
  const head = encoder.encode(`${open},"body":`)
  const out = new Uint8Array(head.byteLength + body.byteLength + 1)
  out.set(head, 0)
  out.set(body, head.byteLength)
  out[out.byteLength - 1] = 0x7d // }
  return out
}

/** The v1 success envelope around an already encoded response body. */
export function wrapV1Response(body: Uint8Array): Uint8Array {
  return wrapBody(`{"v":${RR_ENVELOPE_VERSION},"ok":true`, body)
}

/** Decodes a session frame's JSON body (empty means `undefined`). */
export function decodeBody(bytes: Uint8Array): DecodeResult<unknown> {
  if (bytes.byteLength === 0) return { ok: true, value: undefined }
  return parseJson(bytes)
}

/** A whole session frame, length prefix included, ready for `stream.send()`. */
export function encodeSessionFrame(kind: FrameKind, id: number, body: Uint8Array): Uint8ArrayList {
  const idLength = varint.encodingLength(id)
  const payloadLength = 1 + idLength + body.byteLength
  const head = new Uint8Array(varint.encodingLength(payloadLength) + 1 + idLength)
  varint.encode(payloadLength, head, 0)
  let offset = varint.encodingLength(payloadLength)
  head[offset++] = kind
  varint.encode(id, head, offset)
  return body.byteLength === 0 ? new Uint8ArrayList(head) : new Uint8ArrayList(head, body)
}

export interface SessionFrameHead {
  kind: number
  id: number
  /** Where the JSON body starts in the payload. */
  bodyOffset: number
}

/** Reads kind and id from the start of a session frame's payload; undefined when they are not there. */
export function decodeSessionFrameHead(payload: Uint8Array): SessionFrameHead | undefined {
  if (payload.byteLength < 2) return undefined
  try {
    const id = varint.decode(payload, 1)
    if (!Number.isSafeInteger(id)) return undefined
    return { kind: payload[0] as number, id, bodyOffset: 1 + varint.encodingLength(id) }
  } catch {
    return undefined
  }
}

export function encodeSessionError(code: string, message: string): Uint8Array {
  return encoder.encode(JSON.stringify({ code: truncate(code, MAX_CODE_CHARS), message: truncate(message) }))
}

const sessionAccept = z.object({ v: z.literal(RR_SESSION_VERSION), ok: z.literal(true) })
const sessionError = z.object({ code: z.string().max(MAX_CODE_CHARS), message: z.string() })

export function decodeSessionError(bytes: Uint8Array): DecodeResult<WireError> {
  const json = parseJson(bytes)
  if (!json.ok) return json
  const parsed = sessionError.safeParse(json.value)
  if (!parsed.success) return { ok: false, reason: 'malformed', detail: `malformed error frame: ${formatZodError(parsed.error)}` }
  return { ok: true, value: parsed.data }
}

export const SESSION_OPEN = encoder.encode(JSON.stringify({ v: RR_SESSION_VERSION }))
export const SESSION_ACCEPT = encoder.encode(JSON.stringify({ v: RR_SESSION_VERSION, ok: true }))

/** The first frame on a stream: a v1 request (its body, not yet schema-checked) or a v2 session opening. */
export type OpeningFrame = { kind: 'request'; body: unknown } | { kind: 'session' }

export function decodeOpening(bytes: Uint8Array): DecodeResult<OpeningFrame> {
  const json = parseJson(bytes)
  if (!json.ok) return json
  const head = versioned.safeParse(json.value)
  if (head.success && head.data.v === RR_SESSION_VERSION) return { ok: true, value: { kind: 'session' } }
  const request = decodeParsedRequest(json.value)
  return request.ok ? { ok: true, value: { kind: 'request', body: request.value } } : request
}

/** True when a session opening was answered by a node that speaks only v1 (or refused for another reason). */
export function decodeSessionAccept(bytes: Uint8Array): DecodeResult<true> {
  const json = parseJson(bytes)
  if (!json.ok) return json
  const accept = sessionAccept.safeParse(json.value)
  if (accept.success) return { ok: true, value: true }
  const response = decodeParsedResponse(json.value)
  if (response.ok && !response.value.ok && response.value.error.code === WireErrorCode.unsupportedVersion) {
    return { ok: false, reason: 'unsupported-version', detail: response.value.error.message }
  }
  return { ok: false, reason: 'malformed', detail: 'the session opening got neither an accept nor unsupported-version' }
}

export function encodeRequest(body: unknown): { ok: true; bytes: Uint8Array } | { ok: false; detail: string } {
  return encodeJson({ v: RR_ENVELOPE_VERSION, body })
}

export function encodeResponse(envelope: ResponseEnvelope): { ok: true; bytes: Uint8Array } | { ok: false; detail: string } {
  return encodeJson(envelope)
}

export function encodeError(code: string, message: string): Uint8Array {
  const envelope: ResponseEnvelope = {
    v: RR_ENVELOPE_VERSION,
    ok: false,
    error: { code: truncate(code, MAX_CODE_CHARS), message: truncate(message) },
  }
  // Strings only: this cannot fail.
  return encoder.encode(JSON.stringify(envelope))
}

function parseJson(bytes: Uint8Array): DecodeResult<unknown> {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    return { ok: false, reason: 'malformed', detail: 'frame is not valid UTF-8' }
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false, reason: 'malformed', detail: 'frame is not valid JSON' }
  }
}

function checkVersion(value: unknown): DecodeResult<unknown> {
  const head = versioned.safeParse(value)
  if (!head.success) return { ok: false, reason: 'malformed', detail: 'envelope has no numeric "v" field' }
  if (head.data.v !== RR_ENVELOPE_VERSION) {
    return {
      ok: false,
      reason: 'unsupported-version',
      detail: `envelope version ${head.data.v} is not supported (this node speaks ${RR_ENVELOPE_VERSION})`,
    }
  }
  return { ok: true, value }
}

/** Decodes a request frame into its (not yet schema-checked) body. */
export function decodeRequest(bytes: Uint8Array): DecodeResult<unknown> {
  const json = parseJson(bytes)
  if (!json.ok) return json
  return decodeParsedRequest(json.value)
}

function decodeParsedRequest(value: unknown): DecodeResult<unknown> {
  const version = checkVersion(value)
  if (!version.ok) return version
  const envelope = requestEnvelope.safeParse(value)
  if (!envelope.success) return { ok: false, reason: 'malformed', detail: `malformed envelope: ${formatZodError(envelope.error)}` }
  return { ok: true, value: envelope.data.body }
}

/** Decodes a response frame into its envelope; failures here mean the remote broke the format. */
export function decodeResponse(bytes: Uint8Array): DecodeResult<ResponseEnvelope> {
  const json = parseJson(bytes)
  if (!json.ok) return json
  return decodeParsedResponse(json.value)
}

function decodeParsedResponse(value: unknown): DecodeResult<ResponseEnvelope> {
  const version = checkVersion(value)
  if (!version.ok) return version
  const envelope = responseEnvelope.safeParse(value)
  if (!envelope.success) return { ok: false, reason: 'malformed', detail: `malformed envelope: ${formatZodError(envelope.error)}` }
  return { ok: true, value: envelope.data as ResponseEnvelope }
}
