// Many Hypha nodes in one process for the scale benchmarks (gossip-scale, dht-scale): real nodes
// (TCP + mTLS on loopback, each with its own certificate from one throw-away CA), built by
// network-core's TestNetwork, started a few at a time, linked into a sparse random-regular-ish
// graph (a ring plus chords) with a bounded number of handshakes in flight.
import { TestNetwork } from '@hypha/network-core/testing'

/** Starts `count` nodes of a network with `identities` certificates; `options(i)` gives each its TestNetwork options. */
export async function startSwarm(count, options = () => ({}), { identities = count, batch = 10 } = {}) {
  const net = await TestNetwork.create(identities)
  const nodes = []
  for (let i = 0; i < count; i += batch) {
    const started = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, (_, k) =>
        net.start({ transports: 'tcp', role: 'worker', ...options(i + k), toml: { metrics: { enabled: false }, ...(options(i + k).toml ?? {}) } }),
      ),
    )
    nodes.push(...started)
  }
  return { net, nodes }
}

/** Runs `jobs` (functions returning promises) with at most `limit` at once. */
export async function limited(jobs, limit) {
  let next = 0
  const results = new Array(jobs.length)
  await Promise.all(
    Array.from({ length: Math.min(limit, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++
        results[i] = await jobs[i]()
      }
    }),
  )
  return results
}

/** Links node i to i+s for every step s (a ring plus chords: degree 2 x steps, small diameter). */
export async function linkRing(nodes, steps, concurrency = 16) {
  const edges = new Set()
  for (let i = 0; i < nodes.length; i++) {
    for (const step of steps) {
      const j = (i + step) % nodes.length
      if (i !== j) edges.add(`${Math.min(i, j)}-${Math.max(i, j)}`)
    }
  }
  await limited(
    [...edges].map((edge) => async () => {
      const [a, b] = edge.split('-').map(Number)
      await nodes[a].dial(nodes[b].getMultiaddrs())
    }),
    concurrency,
  )
  return edges.size
}

export async function waitUntil(what, predicate, timeoutMs = 120_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** A seeded PRNG (mulberry32): the same publishers and targets in every run. */
export function random(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across nodes of one process. */
export const nowMs = () => performance.timeOrigin + performance.now()
