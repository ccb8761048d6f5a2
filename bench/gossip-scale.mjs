// GossipSub at scale, in one process: BENCH_GOSSIP_NODES (100) Hypha nodes (TCP + mTLS, loopback,
// each its own certificate) linked as a ring with chords (degree 6), all subscribed to one topic
// with Hypha's gossipsub options. BENCH_GOSSIP_MESSAGES (1,000) messages from random publishers
// at BENCH_GOSSIP_RATE (100/s); per delivery, the latency from publish to the subscriber's
// handler. Three runs: the baseline (10 nodes), the full size, and the full size with 10% of the
// nodes stopped halfway through (delivery then counts the survivors only).
// Prints one JSON line per run and a summary. Stopping is a clean stop (connections closed), not
// a crash: crashes with half-open connections are churn.mjs's subject (processes).
import { z } from 'zod'
import { median, percentile, round } from './lib/common.mjs'
import { linkRing, nowMs, random, startSwarm, waitUntil } from './lib/swarm.mjs'

const NODES = Number(process.env.BENCH_GOSSIP_NODES ?? 100)
const BASELINE_NODES = Number(process.env.BENCH_GOSSIP_BASELINE ?? 10)
const MESSAGES = Number(process.env.BENCH_GOSSIP_MESSAGES ?? 1000)
const RATE = Number(process.env.BENCH_GOSSIP_RATE ?? 100)
const KILL_SHARE = 0.1
const TOPIC = 'hypha/bench/scale'
const Message = z.object({ id: z.number().int(), origin: z.number().int(), sentAt: z.number() })

async function run(size, { kill }) {
  const started = nowMs()
  const { net, nodes } = await startSwarm(size)
  try {
    const startMs = nowMs() - started
    const linkedAt = nowMs()
    const edges = await linkRing(nodes, size > 12 ? [1, 5, 17] : [1, 3])
    const linkMs = nowMs() - linkedAt
    const delivered = Array.from({ length: MESSAGES }, () => new Map()) // id -> node index -> latency
    const topics = nodes.map((node, index) => {
      const topic = node.pubsub.topic(TOPIC, Message)
      topic.subscribe((message) => {
        const seen = delivered[message.id]
        if (seen !== undefined && !seen.has(index)) seen.set(index, nowMs() - message.sentAt)
      })
      return topic
    })
    const meshAt = nowMs()
    await waitUntil('a mesh on every node', () =>
      nodes.every((node) => {
        const neighbours = node.libp2p.getPeers().length
        return node.libp2p.services.pubsub.getMeshPeers(TOPIC).length >= Math.min(4, neighbours)
      }),
    )
    const meshMs = nowMs() - meshAt

    const rand = random(size * 7919 + (kill ? 1 : 0))
    const alive = new Set(nodes.map((_, i) => i))
    const killed = new Set()
    const interval = 1000 / RATE
    const publishStarted = nowMs()
    for (let id = 0; id < MESSAGES; id++) {
      if (kill && id === Math.floor(MESSAGES / 2)) {
        const victims = [...alive].sort(() => rand() - 0.5).slice(0, Math.round(size * KILL_SHARE))
        for (const v of victims) {
          alive.delete(v)
          killed.add(v)
        }
        // stopped while publishing goes on: no pause for the mesh to heal
        void Promise.all(victims.map((v) => nodes[v].stop()))
      }
      const candidates = [...alive]
      const origin = candidates[Math.floor(rand() * candidates.length)]
      delivered[id].origin = origin
      await topics[origin].publish({ id, origin, sentAt: nowMs() })
      const due = publishStarted + (id + 1) * interval
      const wait = due - nowMs()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
    // deliveries settle: everything expected arrived, or nothing new for 3 s
    const expectedFor = (id) => [...alive].filter((i) => i !== delivered[id].origin)
    const count = () => delivered.reduce((sum, seen, id) => sum + expectedFor(id).filter((i) => seen.has(i)).length, 0)
    const expected = delivered.reduce((sum, _, id) => sum + expectedFor(id).length, 0)
    let last = -1
    let stableSince = nowMs()
    await waitUntil('deliveries to settle', () => {
      const now = count()
      if (now !== last) {
        last = now
        stableSince = nowMs()
      }
      return now >= expected || nowMs() - stableSince > 3000
    }, 120_000, 50)
    const latencies = delivered.flatMap((seen, id) => expectedFor(id).flatMap((i) => (seen.has(i) ? [seen.get(i)] : [])))
    const afterKill = kill ? delivered.slice(Math.floor(MESSAGES / 2)) : []
    const lostAfterKill = afterKill.reduce((sum, seen, k) => {
      const id = Math.floor(MESSAGES / 2) + k
      return sum + expectedFor(id).filter((i) => !seen.has(i)).length
    }, 0)
    return {
      bench: 'gossip-scale',
      nodes: size,
      killed: killed.size,
      edges,
      messages: MESSAGES,
      ratePerS: RATE,
      expectedDeliveries: expected,
      delivered: last,
      deliveryRate: round(last / expected, 5),
      ...(kill ? { lostAfterKill } : {}),
      p50Ms: round(median(latencies), 2),
      p99Ms: round(percentile(latencies, 99), 2),
      maxMs: round(Math.max(...latencies), 2),
      startMs: Math.round(startMs),
      linkMs: Math.round(linkMs),
      meshMs: Math.round(meshMs),
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    }
  } finally {
    await net.cleanup()
  }
}

const results = []
for (const [size, kill] of [[BASELINE_NODES, false], [NODES, false], [NODES, true]]) {
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
