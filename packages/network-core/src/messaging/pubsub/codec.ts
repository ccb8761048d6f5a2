// The pub/sub wire format: a versioned JSON envelope `{"v":1,"body":...}` in UTF-8, checked
// against a size limit and a zod schema. JSON only: bodies must survive JSON.stringify/parse.
import type { z } from 'zod'
import { PubSubInvalidMessageError, PubSubMessageTooLargeError } from './errors.js'

/**
 * The envelope version this code writes. Bumping it lets a later format coexist with this one:
 * receivers that do not know a version ignore it (no forwarding, no penalty) instead of
 * rejecting it, so a rolling upgrade does not make old nodes punish new ones.
 */
export const PUBSUB_ENVELOPE_VERSION = 1

/** Why an inbound message was refused; stable strings, fit for metric labels. */
export type InvalidMessageReason =
  | 'too-large'
  | 'invalid-utf8'
  | 'invalid-json'
  | 'invalid-envelope'
  | 'unsupported-version'
  | 'schema'
  | 'unsigned'

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: InvalidMessageReason; detail: string }

const encoder = new TextEncoder()
// fatal: a malformed byte sequence is an invalid message, not something to paper over with U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Validates `message` against `schema` and encodes it. Throws before anything reaches the
 * network: a message the receivers would reject gets the honest publisher's score lowered.
 */
export function encodeEnvelope<T>(topic: string, message: T, schema: z.ZodType<T>, maxMessageBytes: number): Uint8Array {
  const parsed = schema.safeParse(message)
  if (!parsed.success) {
    throw new PubSubInvalidMessageError(topic, summarise(parsed.error), { cause: parsed.error })
  }
  let json: string
  try {
    // The parsed value, not the argument: zod objects strip unknown keys, so nothing leaks that
    // the schema did not mean to publish.
    json = JSON.stringify({ v: PUBSUB_ENVELOPE_VERSION, body: parsed.data })
  } catch (err) {
    // BigInt and cycles end up here.
    throw new PubSubInvalidMessageError(topic, `not JSON-serialisable: ${(err as Error).message}`, { cause: err })
  }
  const bytes = encoder.encode(json)
  if (bytes.byteLength > maxMessageBytes) {
    throw new PubSubMessageTooLargeError(topic, bytes.byteLength, maxMessageBytes)
  }
  // Receivers parse the JSON text, not the object we hold. A schema that does not survive the
  // round trip (z.date(), a transform, undefined in an array) would make every receiver reject
  // the message and penalise us, so refuse it here where the mistake is visible.
  const back = decodeEnvelope(bytes, schema, maxMessageBytes)
  if (!back.ok) {
    throw new PubSubInvalidMessageError(topic, `does not survive the JSON round trip (${back.reason}: ${back.detail})`)
  }
  return bytes
}

/** Decodes and validates inbound bytes; never throws, the caller turns failures into a Reject. */
export function decodeEnvelope<T>(data: Uint8Array, schema: z.ZodType<T>, maxMessageBytes: number): DecodeResult<T> {
  // Size first, so an oversized message costs no parsing.
  if (data.byteLength > maxMessageBytes) {
    return { ok: false, reason: 'too-large', detail: `${data.byteLength} > ${maxMessageBytes} bytes` }
  }
  let text: string
  try {
    text = decoder.decode(data)
  } catch {
    return { ok: false, reason: 'invalid-utf8', detail: 'not valid UTF-8' }
  }
  let envelope: unknown
  try {
    envelope = JSON.parse(text)
  } catch (err) {
    return { ok: false, reason: 'invalid-json', detail: (err as Error).message }
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope) || !('v' in envelope) || !('body' in envelope)) {
    return { ok: false, reason: 'invalid-envelope', detail: 'expected an object with "v" and "body"' }
  }
  const { v, body } = envelope as { v: unknown; body: unknown }
  if (v !== PUBSUB_ENVELOPE_VERSION) {
    // A later integer version is a peer ahead of us, not an attacker; anything else is garbage.
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > PUBSUB_ENVELOPE_VERSION) {
      return { ok: false, reason: 'unsupported-version', detail: `envelope version ${v}` }
    }
    return { ok: false, reason: 'invalid-envelope', detail: `bad envelope version ${JSON.stringify(v) ?? String(v)}` }
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) {
    return { ok: false, reason: 'schema', detail: summarise(parsed.error) }
  }
  return { ok: true, value: parsed.data }
}

function summarise(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : ''
  return issues.join('; ') + more
}
