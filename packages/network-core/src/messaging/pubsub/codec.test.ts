// Tests of the pub/sub envelope: round trip, the outbound checks that throw before publishing,
// and each inbound failure reason the topic validator turns into a Reject or an Ignore.
import { z } from 'zod'
import { decodeEnvelope, encodeEnvelope, PUBSUB_ENVELOPE_VERSION } from './codec.js'
import { PubSubInvalidMessageError, PubSubMessageTooLargeError } from './errors.js'

const Task = z.object({ id: z.string().min(1), cores: z.number().int().positive() })
type Task = z.infer<typeof Task>
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))

describe('encodeEnvelope', () => {
  it('writes a versioned JSON envelope that decodes back to the message', () => {
    const encoded = encodeEnvelope<Task>('tasks', { id: 't1', cores: 2 }, Task, 1024)
    expect(JSON.parse(new TextDecoder().decode(encoded))).toEqual({ v: PUBSUB_ENVELOPE_VERSION, body: { id: 't1', cores: 2 } })
    expect(decodeEnvelope(encoded, Task, 1024)).toEqual({ ok: true, value: { id: 't1', cores: 2 } })
  })

  it('publishes what the schema outputs, so unknown keys do not leak', () => {
    const message = { id: 't1', cores: 2, secret: 'x' } as Task
    const encoded = encodeEnvelope('tasks', message, Task, 1024)
    expect(new TextDecoder().decode(encoded)).not.toContain('secret')
  })

  it('throws PubSubInvalidMessageError for a message the schema refuses', () => {
    const attempt = (): Uint8Array => encodeEnvelope('tasks', { id: '', cores: 0 }, Task, 1024)
    expect(attempt).toThrow(PubSubInvalidMessageError)
    expect(attempt).toThrow(expect.objectContaining({ name: 'PubSubInvalidMessageError', topic: 'tasks' }))
    expect(attempt).toThrow(/id: .*; cores: /)
  })

  it('throws PubSubMessageTooLargeError when the envelope exceeds the limit, counting UTF-8 bytes', () => {
    const Text = z.string()
    // 'é' is 2 bytes in UTF-8: the envelope {"v":1,"body":"éé…"} is 17 + 2n bytes.
    expect(() => encodeEnvelope('t', 'é'.repeat(8), Text, 33)).not.toThrow()
    let error: unknown
    try {
      encodeEnvelope('t', 'é'.repeat(9), Text, 33)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(PubSubMessageTooLargeError)
    expect(error).toMatchObject({ name: 'PubSubMessageTooLargeError', size: 35, limit: 33, topic: 't' })
  })

  it('refuses schemas whose values do not survive JSON (receivers would reject and penalise us)', () => {
    expect(() => encodeEnvelope('t', new Date(0), z.date(), 1024)).toThrow(/round trip/)
    expect(() => encodeEnvelope('t', 1n, z.bigint(), 1024)).toThrow(/not JSON-serialisable/)
  })
})

describe('decodeEnvelope', () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['oversized data', bytes({ v: 1, body: { id: 'x'.repeat(100), cores: 1 } }), 'too-large'],
    ['malformed UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'invalid-utf8'],
    ['text that is not JSON', bytes('{"v":1,'), 'invalid-json'],
    ['a JSON array', bytes([1, { id: 'a', cores: 1 }]), 'invalid-envelope'],
    ['JSON null', bytes('null'), 'invalid-envelope'],
    ['a bare body without envelope', bytes({ id: 'a', cores: 1 }), 'invalid-envelope'],
    ['an envelope without body', bytes({ v: 1 }), 'invalid-envelope'],
    ['a string version', bytes({ v: '1', body: { id: 'a', cores: 1 } }), 'invalid-envelope'],
    ['version 0', bytes({ v: 0, body: { id: 'a', cores: 1 } }), 'invalid-envelope'],
    ['a fractional version', bytes({ v: 1.5, body: { id: 'a', cores: 1 } }), 'invalid-envelope'],
    ['a later version', bytes({ v: 2, body: { anything: true } }), 'unsupported-version'],
    ['a body the schema refuses', bytes({ v: 1, body: { id: 'a', cores: -1 } }), 'schema'],
  ]

  it.each(cases)('refuses %s', (_name, data, reason) => {
    const result = decodeEnvelope(data, Task, 100)
    expect(result).toMatchObject({ ok: false, reason })
    if (!result.ok) expect(result.detail.length).toBeGreaterThan(0)
  })

  it('accepts a message exactly at the limit', () => {
    const data = bytes({ v: 1, body: { id: 'a', cores: 1 } })
    expect(decodeEnvelope(data, Task, data.byteLength)).toEqual({ ok: true, value: { id: 'a', cores: 1 } })
    expect(decodeEnvelope(data, Task, data.byteLength - 1)).toMatchObject({ ok: false, reason: 'too-large' })
  })
})
