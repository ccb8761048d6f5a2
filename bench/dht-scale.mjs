// Kademlia at scale, in one process: BENCH_DHT_NODES (200) Hypha nodes (TCP + mTLS, loopback),
// all DHT servers, each bootstrapping from the first two. Once the routing tables settle,
// BENCH_DHT_LOOKUPS (200) find-peer lookups, one at a time, each from a random node for another
// random node, asking the network (not the local peer store): success (the target's listen
// address found), median and p99 time, and the routing table sizes. The baseline is the same
// with 20 nodes, in the same run. Prints one JSON line per size and a summary.
import { median, percentile, round } from './lib/common.mjs'
import { limited, nowMs, random, startSwarm, waitUntil } from './lib/swarm.mjs'

const NODES = Number(process.env.BENCH_DHT_NODES ?? 200)
const BASELINE_NODES = Number(process.env.BENCH_DHT_BASELINE ?? 20)
const LOOKUPS = Number(process.env.BENCH_DHT_LOOKUPS ?? 200)
const LOOKUP_TIMEOUT_MS = 10_000
const DHT_SERVER = { 'network.dht': { kademlia_mode: 'server' }, 'network.nat': { reachability: 'public' } }

function tableSize(node) {
  return node.dhtRoutingTableSize()
}

async function run(size) {
  const started = nowMs()
  // the first two start alone; everyone else bootstraps from them
  const { net, nodes: seeds } = await startSwarm(2, () => ({ toml: DHT_SERVER }), { identities: size })
  try {
    const bootstrap = seeds.flatMap((n) => n.getMultiaddrs().map((a) => a.toString()))
    const nodes = [...seeds]
    for (let i = 2; i < size; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, size - i) }, () => net.start({ transports: 'tcp', role: 'worker', bootstrap, toml: { metrics: { enabled: false }, ...DHT_SERVER } })))
      nodes.push(...batch)
    }
    const startMs = nowMs() - started
    // Nodes that joined in the same batch ran their first self-lookup knowing only the seeds; a
    // network grows more slowly than that. One routing-table refresh each (what kad-dht runs on
    // its own every 10 minutes) stands in for the time a real network takes to get there.
    const refreshAt = nowMs()
    await limited(nodes.map((node) => () => node.libp2p.services.dht.refreshRoutingTable()), 8)
    const refreshMs = nowMs() - refreshAt
    // settled: every table holds at least min(size - 1, 5) peers and none changed for 3 s
    const settleAt = nowMs()
    let last = ''
    let stableSince = nowMs()
    await waitUntil('the routing tables to settle', () => {
      const sizes = nodes.map(tableSize)
      const key = sizes.join(',')
      if (process.env.BENCH_DEBUG) console.error(key)
      if (key !== last) {
        last = key
        stableSince = nowMs()
      }
      return sizes.every((s) => s >= Math.min(size - 1, 5)) && nowMs() - stableSince > 3000
    }, 180_000, 200)
    const settleMs = nowMs() - settleAt
    const sizes = nodes.map(tableSize).sort((a, b) => a - b)

    const rand = random(size)
    const times = []
    let found = 0
    const failures = []
    for (let k = 0; k < LOOKUPS; k++) {
      const q = Math.floor(rand() * size)
      let t = Math.floor(rand() * (size - 1))
      if (t >= q) t++
      const target = nodes[t]
      const want = new Set(target.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/[^/]+$/, '')))
      const lookupStarted = nowMs()
      try {
        const info = await nodes[q].libp2p.peerRouting.findPeer(target.peerId, { useCache: false, signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS) })
        const ok = info.multiaddrs.some((a) => want.has(a.toString().replace(/\/p2p\/[^/]+$/, '')))
        if (ok) found++
        else failures.push('wrong addresses')
      } catch (err) {
        failures.push(err.name)
      }
      times.push(nowMs() - lookupStarted)
    }
    return {
      bench: 'dht-scale',
      nodes: size,
      lookups: LOOKUPS,
      found,
      successRate: round(found / LOOKUPS, 4),
      failures: Object.fromEntries([...new Set(failures)].map((f) => [f, failures.filter((x) => x === f).length])),
      medianMs: round(median(times), 2),
      p99Ms: round(percentile(times, 99), 2),
      routingTable: { min: sizes[0], median: median(sizes), max: sizes.at(-1) },
      startMs: Math.round(startMs),
      refreshMs: Math.round(refreshMs),
      settleMs: Math.round(settleMs),
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    }
  } finally {
    await net.cleanup()
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
