// Property tests of every decoder here that reads bytes from the network: whatever a peer sends
// (random bytes, valid frames with bytes flipped, any JSON value, frames at and over the limit),
// decoding returns a result and never throws, and a result marked ok passed the schema.
// FUZZ_RUNS (default 10,000 per property) scales them; the long run is in docs/security.md.
import fc from 'fast-check'
import { z } from 'zod'
import { decodeHolePunch, encodeHolePunch, InvalidHolePunchMessageError } from '../nat/hole-punch/hole-punch-message.js'
import { decodeEnvelope, encodeEnvelope } from './pubsub/codec.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from './request-response/codec.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)
const encoder = new TextEncoder()

const Body = z.strictObject({ id: z.string().max(64), n: z.int().min(0).max(1_000), tags: z.array(z.string()).max(4) })
const validBody = fc.record({
  id: fc.string({ maxLength: 64 }),
  n: fc.integer({ min: 0, max: 1_000 }),
  tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
})

/** A valid frame with 1-8 bytes replaced, inserted or removed. */
function mutated(frames: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(frames, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 8 }))
    .map(([frame, edits]) => {
      const bytes = [...frame]
      for (const [at, value, kind] of edits) {
        const i = bytes.length === 0 ? 0 : at % bytes.length
        if (kind === 'set' && bytes.length > 0) bytes[i] = value
        else if (kind === 'insert') bytes.splice(i, 0, value)
        else bytes.splice(i, 1)
      }
      return Uint8Array.from(bytes)
    })
}

const anyBytes = fc.uint8Array({ maxLength: 2_048 })
const anyJson = fc.jsonValue({ maxDepth: 4 }).map((v) => encoder.encode(JSON.stringify(v)))

function neverThrows(decode: (bytes: Uint8Array) => unknown, inputs: fc.Arbitrary<Uint8Array>): void {
  fc.assert(
    fc.property(inputs, (bytes) => {
      decode(bytes)
    }),
    { numRuns: RUNS },
  )
}

describe('request/response envelope', () => {
  const requests = validBody.map((b) => {
    const encoded = encodeRequest(b)
    if (!encoded.ok) throw new Error(encoded.detail)
    return encoded.bytes
  })
  const responses = validBody.map((b) => {
    const encoded = encodeResponse({ v: 1, ok: true, body: b })
    if (!encoded.ok) throw new Error(encoded.detail)
    return encoded.bytes
  })

  it('decodes random bytes, any JSON and mutated frames without throwing', () => {
    for (const inputs of [anyBytes, anyJson, mutated(requests), mutated(responses)]) {
      neverThrows(decodeRequest, inputs)
      neverThrows(decodeResponse, inputs)
    }
  })

  it('round-trips every valid request body', () => {
    fc.assert(
      fc.property(validBody, (body) => {
        const encoded = encodeRequest(body)
        expect(encoded.ok && decodeRequest(encoded.bytes)).toEqual({ ok: true, value: body })
      }),
      { numRuns: Math.min(RUNS, 2_000) },
    )
  })
})

describe('pub/sub envelope', () => {
  const LIMIT = 512
  const frames = validBody.map((b) => encodeEnvelope('t', b, Body, 1 << 20))

  it('returns a result for any input and accepts only what the schema accepts', () => {
    for (const inputs of [anyBytes, anyJson, mutated(frames)]) {
      fc.assert(
        fc.property(inputs, (bytes) => {
          const result = decodeEnvelope(bytes, Body, LIMIT)
          if (result.ok) expect(Body.safeParse(result.value).success).toBe(true)
          if (bytes.byteLength > LIMIT) expect(result).toMatchObject({ ok: false, reason: 'too-large' })
        }),
        { numRuns: RUNS },
      )
    }
  })
})

describe('DCUtR message', () => {
  const frames = fc
    .tuple(fc.constantFrom('CONNECT' as const, 'SYNC' as const), fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }))
    .map(([type, observedAddresses]) => encodeHolePunch({ type, observedAddresses }))

  it('fails only with InvalidHolePunchMessageError', () => {
    for (const inputs of [anyBytes, mutated(frames)]) {
      fc.assert(
        fc.property(inputs, (bytes) => {
          try {
            decodeHolePunch(bytes)
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidHolePunchMessageError)
          }
        }),
        { numRuns: RUNS },
      )
    }
  })
})
