// Property tests of what mTLS reads from a peer before trusting it: the verdict frame (TLS
// encrypter and admission) and the certificate chain (both). Random or mutated input must end in
// a clean refusal (CertificateRefusedError, or the verdict decoder's "malformed verdict"), never
// in another exception, and never in acceptance of a chain that is not the original.
// FUZZ_RUNS (default 10,000) scales the byte-level properties; chains are costlier (2,000).
import fc from 'fast-check'
import { type NodeIdentity, NodeIdentity as Identity } from '../src/index.js'
import { decodeVerdictHeader, decodeVerdictText, encodeVerdict, VERDICT_HEADER_BYTES } from '../src/security/verdict.js'
import { isRefusal } from '../src/verify/errors.js'
import { CaptureLog } from './fixtures/capture-log.js'
import { TestPki } from './fixtures/test-pki.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)

describe('verdict frame', () => {
  it('a header decodes or throws "malformed verdict"; text always decodes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: VERDICT_HEADER_BYTES, maxLength: VERDICT_HEADER_BYTES }), fc.uint8Array({ maxLength: 4_096 }), (header, text) => {
        try {
          const decoded = decodeVerdictHeader(header)
          expect(decoded.textBytes).toBeLessThanOrEqual(4 * 1024)
        } catch (err) {
          expect((err as Error).message).toMatch(/^malformed verdict/)
        }
        const { reason, detail } = decodeVerdictText(text)
        expect(typeof reason).toBe('string')
        expect(typeof detail).toBe('string')
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips any refusal, bounded', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }).filter((r) => !r.includes('\n')), fc.string({ maxLength: 3_000 }), (reason, detail) => {
        const frame = encodeVerdict({ accepted: false, reason, detail })
        const header = decodeVerdictHeader(frame.subarray(0, VERDICT_HEADER_BYTES))
        expect(header.accepted).toBe(false)
        expect(decodeVerdictText(frame.subarray(VERDICT_HEADER_BYTES)).reason).toBe(reason.length + detail.length + 1 > 1024 ? expect.any(String) : reason)
      }),
      { numRuns: Math.min(RUNS, 2_000) },
    )
  })
})

describe('certificate chain from a peer', () => {
  let pki: TestPki
  let identity: NodeIdentity
  let valid: Uint8Array[]

  beforeAll(async () => {
    pki = await TestPki.create()
    identity = await Identity.load((await pki.node('verifier')).files, { log: new CaptureLog() })
    valid = (await Identity.load((await pki.node('peer')).files, { log: new CaptureLog() })).material.chainDer.map((d) => Uint8Array.from(d))
  })
  afterAll(async () => {
    identity.close()
    await pki.cleanup()
  })

  /** True when the chain was refused with a refusal; any other error propagates. */
  const refusedCleanly = async (chain: Uint8Array[]): Promise<boolean> => {
    try {
      await identity.verifier.verify(chain)
      return false
    } catch (err) {
      if (!isRefusal(err)) throw err
      return true
    }
  }

  it('refuses random DER with a refusal, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 0, maxLength: 6 }), async (chain) => {
        expect(await refusedCleanly(chain)).toBe(true)
      }),
      { numRuns: Math.min(RUNS, 2_000) },
    )
  })

  it('refuses every chain whose leaf was altered, cleanly; an altered intermediate may be ignored', async () => {
    const mutation = fc.tuple(fc.nat(1), fc.nat(), fc.integer({ min: 1, max: 255 }))
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (edits) => {
        const chain = valid.map((der) => Uint8Array.from(der))
        for (const [which, at, xor] of edits) {
          const der = chain[which % chain.length] as Uint8Array
          der[at % der.length] = (der[at % der.length] as number) ^ xor
        }
        const leafChanged = (chain[0] as Uint8Array).some((b, j) => b !== valid[0]?.[j])
        let outcome: 'accepted' | 'refused'
        try {
          await identity.verifier.verify(chain)
          outcome = 'accepted'
        } catch (err) {
          // anything but a refusal (a crash of the parser, say) fails the property here
          expect(isRefusal(err)).toBe(true)
          outcome = 'refused'
        }
        // the leaf is signed: no change to it may pass. An intermediate the peer sends is only a
        // hint; the trust bundle's own copy of the organisation CA can complete the path.
        if (leafChanged) expect(outcome).toBe('refused')
      }),
      { numRuns: Math.min(RUNS, 2_000) },
    )
  })
})
