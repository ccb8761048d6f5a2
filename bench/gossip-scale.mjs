// GossipSub at scale: BENCH_GOSSIP_NODES (100) Hypha nodes (TCP + mTLS, loopback, each its own
// certificate) spread over BENCH_SWARM_HOSTS (4) processes, linked as a ring with chords
// (degree 6), all subscribed to one topic with Hypha's gossipsub options. BENCH_GOSSIP_MESSAGES
// (1,000) messages from random publishers at BENCH_GOSSIP_RATE (10/s: what this 2-core machine
// carries for 100 nodes, see docs/benchmarks.md); per delivery, the time
// from publish to the subscriber's handler (wall clock, the same in every process). Three runs:
// the baseline (10 nodes), the full size, and the full size with 10% of the nodes stopped
// halfway through (delivery then counts the survivors). Prints one JSON line per run and a summary.
// Stopping is a clean stop (connections closed), not a crash: crashes with half-open
// connections are churn.mjs's subject.
import { median, percentile, round } from './lib/common.mjs'
import { startDistributedSwarm } from './lib/distributed-swarm.mjs'
import { random, waitUntil } from './lib/swarm.mjs'

const NODES = Number(process.env.BENCH_GOSSIP_NODES ?? 100)
const BASELINE_NODES = Number(process.env.BENCH_GOSSIP_BASELINE ?? 10)
const MESSAGES = Number(process.env.BENCH_GOSSIP_MESSAGES ?? 1000)
const RATE = Number(process.env.BENCH_GOSSIP_RATE ?? 10)
const HOSTS = Number(process.env.BENCH_SWARM_HOSTS ?? 4)
const KILL_SHARE = 0.1
const TOPIC = 'hypha/bench/scale'

async function run(size, { kill }) {
  const startedAt = Date.now()
  const swarm = await startDistributedSwarm({ count: size, hosts: Math.min(HOSTS, size) })
  try {
    const startMs = Date.now() - startedAt
    const steps = size > 12 ? [1, 5, 17] : [1, 3]
    const links = Array.from({ length: swarm.children.length }, () => [])
    let edges = 0
    const seenEdges = new Set()
    for (let i = 0; i < size; i++) {
      for (const step of steps) {
        const j = (i + step) % size
        const key = `${Math.min(i, j)}-${Math.max(i, j)}`
        if (i === j || seenEdges.has(key)) continue
        seenEdges.add(key)
        edges++
        links[swarm.hostOf(i)].push([i, swarm.addresses[j]])
      }
    }
    const linkAt = Date.now()
    await Promise.all(links.map((l, h) => swarm.call(h, 'dial', { links: l })))
    const linkMs = Date.now() - linkAt
    await swarm.each('subscribe', { topic: TOPIC })
    const meshAt = Date.now()
    await waitUntil(
      'a mesh on every node',
      async () => {
        const answers = await swarm.each('mesh', { topic: TOPIC })
        return answers.every((a) => a.mesh.every(([, mesh, peers]) => mesh >= Math.min(4, peers)))
      },
      120_000,
      250,
    )
    const meshMs = Date.now() - meshAt

    const rand = random(size * 7919 + (kill ? 1 : 0))
    const alive = new Set(Array.from({ length: size }, (_, i) => i))
    const origins = new Array(MESSAGES)
    const interval = 1000 / RATE
    const publishStarted = performance.now()
    const half = Math.floor(MESSAGES / 2)
    let killed = []
    const inflight = []
    for (let id = 0; id < MESSAGES; id++) {
      if (kill && id === half) {
        killed = [...alive].sort(() => rand() - 0.5).slice(0, Math.round(size * KILL_SHARE))
        for (const v of killed) alive.delete(v)
        // stopped while publishing goes on: no pause for the mesh to heal
        const byHost = new Map()
        for (const v of killed) byHost.set(swarm.hostOf(v), [...(byHost.get(swarm.hostOf(v)) ?? []), v])
        for (const [h, indices] of byHost) inflight.push(swarm.call(h, 'stop', { indices }))
      }
      const candidates = [...alive]
      const origin = candidates[Math.floor(rand() * candidates.length)]
      origins[id] = origin
      inflight.push(swarm.call(swarm.hostOf(origin), 'publish', { index: origin, id }))
      const wait = publishStarted + (id + 1) * interval - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
    await Promise.all(inflight)
    const expectedFor = (id) => [...alive].filter((i) => i !== origins[id])
    const expected = origins.reduce((sum, _, id) => sum + expectedFor(id).length, 0)
    const got = new Map()
    const collect = async () => {
      for (const answer of await swarm.each('deliveries')) {
        for (const [id, index, ms] of answer.deliveries) if (alive.has(index) && index !== origins[id]) got.set(`${id}:${index}`, ms)
      }
    }
    // deliveries settle: everything expected arrived, or nothing new for 3 s
    let before = -1
    let stableSince = Date.now()
    await waitUntil(
      'deliveries to settle',
      async () => {
        await collect()
        if (got.size !== before) stableSince = Date.now()
        before = got.size
        return got.size >= expected || Date.now() - stableSince > 3000
      },
      120_000,
      250,
    )
    const latencies = [...got.values()]
    const lostAfterKill = kill
      ? origins.slice(half).reduce((sum, _, k) => sum + expectedFor(half + k).filter((i) => !got.has(`${half + k}:${i}`)).length, 0)
      : 0
    const rssMiBPerNode = await swarm.rssMiBPerNode()
    return {
      bench: 'gossip-scale',
      nodes: size,
      processes: swarm.children.length,
      killed: killed.length,
      edges,
      messages: MESSAGES,
      ratePerS: RATE,
      expectedDeliveries: expected,
      delivered: got.size,
      deliveryRate: round(got.size / expected, 5),
      ...(kill ? { lostAfterKill } : {}),
      p50Ms: round(median(latencies), 2),
      p99Ms: round(percentile(latencies, 99), 2),
      maxMs: round(Math.max(...latencies), 2),
      startMs,
      linkMs,
      meshMs,
      rssMiBPerNode,
    }
  } finally {
    await swarm.stop()
  }
}

const results = []
for (const [size, kill] of [
  [BASELINE_NODES, false],
  [NODES, false],
  [NODES, true],
]) {
  const result = await run(size, { kill })
  results.push(result)
  console.log(JSON.stringify(result))
}
const [base, full, churn] = results
console.log(
  `gossip-scale: ${full.nodes} nodes: ${(full.deliveryRate * 100).toFixed(2)}% delivered, p50 ${full.p50Ms} ms, p99 ${full.p99Ms} ms ` +
    `(${base.nodes} nodes: p50 ${base.p50Ms} ms, p99 ${base.p99Ms} ms; p99 ratio ${round(full.p99Ms / base.p99Ms, 2)}x); ` +
    `${churn.killed} stopped halfway: ${(churn.deliveryRate * 100).toFixed(2)}% to the survivors, p99 ${churn.p99Ms} ms`,
)
process.exit(0)
