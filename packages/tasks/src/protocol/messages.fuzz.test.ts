// Every task message a peer can send goes through a schema with refinements of our own code
// (sizes, labels): whatever arrives, as JSON values or as frames with bytes flipped, checking it
// returns a verdict and never throws, and what passes re-encodes to JSON within the limits.
// FUZZ_RUNS (default 10,000 per schema) scales it.
import fc from 'fast-check'
import type { z } from 'zod'
import * as messages from './messages.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)

const schemas = Object.entries(messages as Record<string, unknown>).filter(
  (entry): entry is [string, z.ZodType] => entry[0].endsWith('Schema') && typeof (entry[1] as { safeParse?: unknown }).safeParse === 'function',
)

/** JSON values shaped like messages: objects whose keys are often the real field names. */
const KEYS = ['v', 'taskId', 'id', 'worker', 'executor', 'input', 'labels', 'lease', 'leaseId', 'tasks', 'addresses', 'ok', 'reason', 'result', 'error', 'progress', 'message', 'capacity', 'running', 'executors', 'requirements', 'bytes', 'size', 'inline', 'ref']
const messageLike: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
})).value

it.each(schemas)('%s: any JSON value gets a verdict, never an exception', (_name, schema) => {
  fc.assert(
    fc.property(messageLike, (value) => {
      const result = schema.safeParse(value)
      if (result.success) expect(() => JSON.stringify(result.data)).not.toThrow()
    }),
    { numRuns: RUNS },
  )
})

it('finds schemas to check', () => {
  expect(schemas.map(([name]) => name)).toEqual(expect.arrayContaining(['OfferRequestSchema', 'AnnouncementSchema', 'ReportRequestSchema', 'InputHeaderSchema']))
})
