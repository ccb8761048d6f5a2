// A job of the local stack's `blob` executor (result = "file"): writes as many MiB as its input
// says (1-1024) to $HYPHA_RESULT, the same bytes for the same input, and the worker delivers the
// file to the scheduler over bulk transfer (GET /tasks/:id/result serves it).
import { createHash } from 'node:crypto'
import { open, readFile } from 'node:fs/promises'

const text = (await readFile(process.env.HYPHA_INPUT, 'utf8')).trim()
const mib = Number(text)
if (!Number.isInteger(mib) || mib < 1 || mib > 1024) {
  process.stderr.write(`blob expects a whole number of MiB from 1 to 1024, got "${text.slice(0, 32)}"\n`)
  process.exit(2)
}
// 1 MiB of a repeated digest of the input: deterministic, not all zeros
const block = Buffer.concat(Array.from({ length: 32768 }, () => createHash('sha256').update(text).digest()))
const out = await open(process.env.HYPHA_RESULT, 'w')
for (let i = 0; i < mib; i++) await out.write(block)
await out.close()
