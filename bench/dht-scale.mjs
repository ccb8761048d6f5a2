// Kademlia at scale: BENCH_DHT_NODES (200) Hypha nodes (TCP + mTLS, loopback), all DHT servers,
// spread over BENCH_SWARM_HOSTS (4) processes; the first two are seeds every other node
// bootstraps from, and every node has met 8 random others (a network that grew: see below).
// Once the routing tables have settled, BENCH_DHT_LOOKUPS (200) find-peer
// lookups one at a time, each from a random node for another random node, asking the network
// (not the local peer store): success (the target's listen address found), median and p99
// time, and the routing table sizes. The baseline is the same with 20 nodes, in the same run.
// Prints one JSON line per size and a summary.
import { median, percentile, round } from './lib/common.mjs'
import { startDistributedSwarm } from './lib/distributed-swarm.mjs'
import { random, waitUntil } from './lib/swarm.mjs'

const NODES = Number(process.env.BENCH_DHT_NODES ?? 200)
const BASELINE_NODES = Number(process.env.BENCH_DHT_BASELINE ?? 20)
const LOOKUPS = Number(process.env.BENCH_DHT_LOOKUPS ?? 200)
const HOSTS = Number(process.env.BENCH_SWARM_HOSTS ?? 4)
const LOOKUP_TIMEOUT_MS = 10_000
/** Peers each node has met before the lookups (random, so about twice as many connections each). */
const DEGREE = 8
const CONFIG = { dht: { kademlia_mode: 'server' }, nat: { reachability: 'public' } }

async function run(size) {
  const startedAt = Date.now()
  const swarm = await startDistributedSwarm({ count: size, hosts: HOSTS, config: CONFIG, seeds: 2 })
  try {
    const startMs = Date.now() - startedAt
    // A network that grew over time: every node has met DEGREE others (connections made in
    // parallel here, where a real network took hours). Routing tables fill from those
    // connections (identify shows the Kademlia protocol); lookups then cross the network.
    const linkAt = Date.now()
    const rand = random(size)
    const links = Array.from({ length: swarm.children.length }, () => [])
    for (let i = 0; i < size; i++) {
      for (let k = 0; k < DEGREE; k++) {
        const j = Math.floor(rand() * size)
        if (j !== i) links[swarm.hostOf(i)].push([i, swarm.addresses[j]])
      }
    }
    await Promise.all(links.map((l, h) => swarm.call(h, 'dial', { links: l })))
    const linkMs = Date.now() - linkAt
    if (process.env.BENCH_DEBUG) console.error(`started in ${startMs} ms, linked in ${linkMs} ms`)
    // settled: every table holds at least min(size - 1, 5) peers and none changed for 3 s
    const settleAt = Date.now()
    let last = ''
    let stableSince = Date.now()
    let sizes = []
    await waitUntil(
      'the routing tables to settle',
      async () => {
        sizes = (await swarm.each('tables')).flatMap((a) => a.sizes)
        if (process.env.BENCH_DEBUG) console.error(sizes.join(','))
        const key = sizes.join(',')
        if (key !== last) {
          last = key
          stableSince = Date.now()
        }
        return sizes.every((s) => s >= Math.min(size - 1, 5)) && Date.now() - stableSince > 3000
      },
      180_000,
      250,
    )
    const settleMs = Date.now() - settleAt
    sizes.sort((a, b) => a - b)

    const times = []
    const failures = []
    let found = 0
    for (let k = 0; k < LOOKUPS; k++) {
      const q = Math.floor(rand() * size)
      let t = Math.floor(rand() * (size - 1))
      if (t >= q) t++
      const want = swarm.addresses[t].map((a) => a.replace(/\/p2p\/[^/]+$/, ''))
      const answer = await swarm.call(swarm.hostOf(q), 'find', { index: q, peerId: swarm.peerIds[t], want, timeoutMs: LOOKUP_TIMEOUT_MS })
      times.push(answer.ms)
      if (answer.ok) found++
      else failures.push(answer.error)
    }
    const rssMiBPerNode = await swarm.rssMiBPerNode()
    return {
      bench: 'dht-scale',
      nodes: size,
      processes: swarm.children.length,
      lookups: LOOKUPS,
      found,
      successRate: round(found / LOOKUPS, 4),
      failures: Object.fromEntries([...new Set(failures)].map((f) => [f, failures.filter((x) => x === f).length])),
      medianMs: round(median(times), 2),
      p99Ms: round(percentile(times, 99), 2),
      routingTable: { min: sizes[0], median: median(sizes), max: sizes.at(-1) },
      startMs,
      linkMs,
      settleMs,
      rssMiBPerNode,
    }
  } finally {
    await swarm.stop()
  }
}

const results = []
for (const size of [BASELINE_NODES, NODES]) {
  const result = await run(size)
  results.push(result)
  console.log(JSON.stringify(result))
}
const [base, full] = results
console.log(
  `dht-scale: ${full.nodes} nodes: ${(full.successRate * 100).toFixed(1)}% found, median ${full.medianMs} ms, p99 ${full.p99Ms} ms, routing table ${full.routingTable.min}-${full.routingTable.max} (median ${full.routingTable.median}) ` +
    `(${base.nodes} nodes: median ${base.medianMs} ms, p99 ${base.p99Ms} ms; median ratio ${round(full.medianMs / base.medianMs, 2)}x)`,
)
process.exit(0)
