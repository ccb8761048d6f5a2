// Small helpers of the scale benchmarks (gossip-scale, dht-scale, scheduler-scale): polling
// with a deadline, a seeded PRNG and a wall clock shared by processes.

export async function waitUntil(what, predicate, timeoutMs = 120_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** A seeded PRNG (mulberry32): the same publishers and targets in every run. */
export { seededRandom as random } from '@hypha/network-core/testing'

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across nodes of one process. */
export const nowMs = () => performance.timeOrigin + performance.now()
