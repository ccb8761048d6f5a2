// Tests of the request/response wire format: envelope round trips, version and malformed-frame
// handling, zod path formatting, error text bounds, and the wire-code to error-class mapping.
import { z } from 'zod'
import { describeHandlerError, errorFromWire } from './index.js'
import {
  decodeRequest,
  decodeResponse,
  encodeError,
  encodeRequest,
  encodeResponse,
  formatZodError,
  RR_ENVELOPE_VERSION,
} from './codec.js'
import {
  InvalidRequestError,
  MessageTooLargeError,
  RemoteBusyError,
  RemoteHandlerError,
  RequestTimeoutError,
} from './errors.js'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

function bytesOf(result: { ok: true; bytes: Uint8Array } | { ok: false; detail: string }): Uint8Array {
  if (!result.ok) throw new Error(`encode failed: ${result.detail}`)
  return result.bytes
}

describe('request envelope', () => {
  it('round-trips a body with its version', () => {
    const bytes = bytesOf(encodeRequest({ a: [1, 'two', null] }))
    expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({ v: RR_ENVELOPE_VERSION, body: { a: [1, 'two', null] } })
    expect(decodeRequest(bytes)).toEqual({ ok: true, value: { a: [1, 'two', null] } })
  })

  it('accepts an absent body (undefined does not survive JSON)', () => {
    expect(decodeRequest(bytesOf(encodeRequest(undefined)))).toEqual({ ok: true, value: undefined })
  })

  it('refuses values JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(encodeRequest(cyclic)).toMatchObject({ ok: false, detail: expect.stringContaining('not JSON-serialisable') })
    expect(encodeRequest({ n: 1n })).toMatchObject({ ok: false })
  })

  it.each([
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe, 0xfd]), 'malformed', 'UTF-8'],
    ['invalid JSON', utf8('{"v":1,'), 'malformed', 'JSON'],
    ['no version', utf8('{"body":1}'), 'malformed', '"v"'],
    ['a string version', utf8('{"v":"1","body":1}'), 'malformed', '"v"'],
    ['a JSON array', utf8('[1,2]'), 'malformed', '"v"'],
    ['a future version', utf8('{"v":2,"body":1}'), 'unsupported-version', 'version 2'],
  ])('classifies %s', (_label, bytes, reason, detail) => {
    const result = decodeRequest(bytes)
    expect(result).toMatchObject({ ok: false, reason })
    if (!result.ok) expect(result.detail).toContain(detail)
  })
})

describe('response envelope', () => {
  it('round-trips success and error envelopes', () => {
    const ok = bytesOf(encodeResponse({ v: 1, ok: true, body: { x: 1 } }))
    expect(decodeResponse(ok)).toEqual({ ok: true, value: { v: 1, ok: true, body: { x: 1 } } })
    expect(decodeResponse(encodeError('busy', 'try later'))).toEqual({
      ok: true,
      value: { v: 1, ok: false, error: { code: 'busy', message: 'try later' } },
    })
  })

  it('refuses an error envelope without a code', () => {
    expect(decodeResponse(utf8('{"v":1,"ok":false,"error":{"message":"x"}}'))).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('refuses an envelope without ok', () => {
    expect(decodeResponse(utf8('{"v":1,"body":1}'))).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('bounds error text so an error reply always fits a frame', () => {
    const bytes = encodeError('x'.repeat(500), 'y'.repeat(100_000))
    expect(bytes.byteLength).toBeLessThan(1200)
    const decoded = decodeResponse(bytes)
    expect(decoded.ok).toBe(true)
  })
})

describe('formatZodError', () => {
  it('names the failing paths', () => {
    const schema = z.object({ jobs: z.array(z.object({ id: z.string() })), n: z.number() })
    const result = schema.safeParse({ jobs: [{ id: 'a' }, { id: 7 }], n: 'x' })
    expect(result.success).toBe(false)
    if (result.success) return
    const text = formatZodError(result.error)
    expect(text).toContain('jobs[1].id:')
    expect(text).toContain('n:')
  })

  it('says (root) for a top-level mismatch', () => {
    const result = z.string().safeParse(3)
    if (result.success) throw new Error('expected failure')
    expect(formatZodError(result.error)).toMatch(/^\(root\): /)
  })
})

describe('errorFromWire', () => {
  it.each([
    ['busy', RemoteBusyError],
    ['too-large', MessageTooLargeError],
    ['invalid-request', InvalidRequestError],
    ['unsupported-version', InvalidRequestError],
    ['timeout', RequestTimeoutError],
    ['handler-error', RemoteHandlerError],
    ['not-found', RemoteHandlerError],
  ])('maps %s to %p', (code, cls) => {
    const err = errorFromWire('/p/1', code, 'why')
    expect(err).toBeInstanceOf(cls)
    expect(err.name).toBe(cls.name)
    expect(err.message).toContain('why')
  })

  it('keeps the remote code on RemoteHandlerError', () => {
    const err = errorFromWire('/p/1', 'not-found', 'no such job')
    expect(err).toMatchObject({ name: 'RemoteHandlerError', code: 'not-found', remoteMessage: 'no such job', protocol: '/p/1' })
  })

  it('marks remote refusals as remote', () => {
    expect(errorFromWire('/p/1', 'invalid-request', 'n: bad')).toMatchObject({ remote: true })
    expect(errorFromWire('/p/1', 'timeout', 'slow')).toMatchObject({ remote: true })
  })
})

describe('describeHandlerError', () => {
  it('uses a string code property when there is one', () => {
    expect(describeHandlerError(Object.assign(new Error('gone'), { code: 'not-found' }))).toEqual({ code: 'not-found', message: 'gone' })
  })

  it.each([
    ['a plain error', new Error('boom'), 'boom'],
    ['a numeric code', Object.assign(new Error('boom'), { code: 42 }), 'boom'],
    ['an empty code', Object.assign(new Error('boom'), { code: '' }), 'boom'],
    ['a thrown string', 'just text', 'just text'],
  ])('falls back to handler-error for %s', (_label, error, message) => {
    expect(describeHandlerError(error)).toEqual({ code: 'handler-error', message })
  })
})
