// A batch of mixed tasks with the result each must produce, so a test checks results, not states.
import { createHash, randomBytes } from 'node:crypto'

export interface ExpectedTask {
  body: { executor: string; input: string | { base64: string } }
  result: unknown
}

/** `count` tasks cycling echo, sha256 (input beyond the inline limit: fetched over a stream), sleep. */
export function mixedTasks(count: number, options: { sha256Bytes?: number; sleepMs?: [number, number] } = {}): ExpectedTask[] {
  const [minSleep, maxSleep] = options.sleepMs ?? [100, 600]
  return Array.from({ length: count }, (_, i) => {
    if (i % 3 === 0) return { body: { executor: 'echo', input: `task ${i}` }, result: { echo: `task ${i}` } }
    if (i % 3 === 1) {
      const bytes = randomBytes(options.sha256Bytes ?? 64 * 1024)
      return { body: { executor: 'sha256', input: { base64: bytes.toString('base64') } }, result: { sha256: createHash('sha256').update(bytes).digest('hex') } }
    }
    const ms = minSleep + ((i * 97) % (maxSleep - minSleep + 1))
    return { body: { executor: 'sleep', input: String(ms) }, result: { slept: ms } }
  })
}
