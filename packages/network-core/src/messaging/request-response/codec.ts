// The request/response wire format: one length-prefixed frame each way, holding a versioned
// JSON envelope in UTF-8. JSON only: bodies must survive JSON.stringify/parse unchanged.
import { z } from 'zod'

/**
 * The envelope version this code writes and reads. A later format gets a new number, so a
 * node can tell "a version I do not speak" (`unsupported-version`) from "garbage".
 */
export const RR_ENVELOPE_VERSION = 1

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

// Error text crosses the wire and lands in logs: bound it so an error reply always fits in a
// frame and a handler cannot make the remote log megabytes.
const MAX_ERROR_MESSAGE_CHARS = 1024
const MAX_CODE_CHARS = 64

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

export function truncate(text: string, max = MAX_ERROR_MESSAGE_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text
}

/** Names every failing zod path, e.g. `items[1].name: Invalid input: expected string`. */
export function formatZodError(error: z.ZodError): string {
  return truncate(error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; '))
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)'
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

/** JSON-encodes a value, or says why it cannot be (cycles, BigInt). */
function encodeJson(value: unknown): { ok: true; bytes: Uint8Array } | { ok: false; detail: string } {
  try {
    return { ok: true, bytes: encoder.encode(JSON.stringify(value)) }
  } catch (err) {
    return { ok: false, detail: `not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}` }
  }
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
  const version = checkVersion(json.value)
  if (!version.ok) return version
  const envelope = requestEnvelope.safeParse(json.value)
  if (!envelope.success) return { ok: false, reason: 'malformed', detail: `malformed envelope: ${formatZodError(envelope.error)}` }
  return { ok: true, value: envelope.data.body }
}

/** Decodes a response frame into its envelope; failures here mean the remote broke the format. */
export function decodeResponse(bytes: Uint8Array): DecodeResult<ResponseEnvelope> {
  const json = parseJson(bytes)
  if (!json.ok) return json
  const version = checkVersion(json.value)
  if (!version.ok) return version
  const envelope = responseEnvelope.safeParse(json.value)
  if (!envelope.success) return { ok: false, reason: 'malformed', detail: `malformed envelope: ${formatZodError(envelope.error)}` }
  return { ok: true, value: envelope.data as ResponseEnvelope }
}
