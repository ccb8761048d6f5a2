// Connection churn: a client dials a gateway-role node (a separate process, bench/lib/peer.mjs)
// and hangs up, CYCLES times per transport (TCP+mTLS, then QUIC+admission). The gateway's memory
// (RSS and JS heap, after a full GC) is sampled every SAMPLE cycles: growth after the first 1,000
// cycles is what a node that serves reconnecting workers all day would accumulate.
//   node churn.mjs            (BENCH_CHURN_CYCLES=10000, BENCH_CHURN_SAMPLE=1000)
import { once } from 'node:events'
import { multiaddr } from '@multiformats/multiaddr'
import { forkChild, LISTEN, makePki, removeDir, round, startNode, stopChild } from './lib/common.mjs'

const CYCLES = Number(process.env.BENCH_CHURN_CYCLES ?? 10_000)
const SAMPLE = Number(process.env.BENCH_CHURN_SAMPLE ?? 1_000)
/** Pause between cycles (0 = as fast as the handshakes go, ~150-300 cycles/s here). */
const PAUSE_MS = Number(process.env.BENCH_CHURN_PAUSE_MS ?? 0)
const SETTLE_MS = Number(process.env.BENCH_CHURN_SETTLE_MS ?? 15_000)
const MB = 1024 * 1024

async function mem(child) {
  child.send({ type: 'mem' })
  const [message] = await once(child, 'message', { signal: AbortSignal.timeout(10_000) })
  return message
}

const { dir, pki } = await makePki(['gateway', 'client'])
const result = { cycles: CYCLES, pauseMs: PAUSE_MS, transports: {} }
try {
  for (const transport of (process.env.BENCH_CHURN_TRANSPORTS ?? 'tcp,quic').split(',')) {
    const { child, info } = await forkChild(new URL('./lib/peer.mjs', import.meta.url).pathname, { mode: 'echo', files: pki.nodes.gateway, role: 'gateway', listen: LISTEN[transport] }, ['--expose-gc'])
    const client = await startNode(pki.nodes.client, 'scheduler', LISTEN[transport])
    const target = multiaddr(`${info.addresses[transport]}`)
    const samples = []
    const started = Date.now()
    try {
      for (let i = 1; i <= CYCLES; i++) {
        const connection = await client.node.libp2p.dial(target, { signal: AbortSignal.timeout(10_000) })
        await connection.close()
        if (PAUSE_MS > 0) await new Promise((r) => setTimeout(r, PAUSE_MS))
        if (i % SAMPLE === 0 || i === 1) {
          // let the far side finish closing before measuring
          let m = await mem(child)
          for (let t = 0; t < 50 && m.connections > 0; t++) {
            await new Promise((r) => setTimeout(r, 20))
            m = await mem(child)
          }
          if (process.env.BENCH_CHURN_SNAPSHOTS === '1') {
            child.send({ type: 'heap-snapshot', file: `/tmp/churn-${transport}-${i}.heapsnapshot` })
            await once(child, 'message', { signal: AbortSignal.timeout(60_000) })
          }
          samples.push({ cycle: i, rssMB: round(m.rss / MB, 1), heapMB: round(m.heapUsed / MB, 1), externalMB: round(m.external / MB, 1), open: m.connections })
        }
      }
      // connections closed in the last seconds are still held by pending timeouts (the
      // admission timeout, request budgets): sample once more after they have fired
      await new Promise((r) => setTimeout(r, SETTLE_MS))
      const m = await mem(child)
      samples.push({ cycle: CYCLES, settled: true, rssMB: round(m.rss / MB, 1), heapMB: round(m.heapUsed / MB, 1), externalMB: round(m.external / MB, 1), open: m.connections })
    } finally {
      await client.stop()
      await stopChild(child)
    }
    const after1k = samples.find((s) => s.cycle === Math.min(1_000, CYCLES)) ?? samples[0]
    // the settled sample (last) is the one that says what stays
    const last = samples.at(-1)
    result.transports[transport] = {
      seconds: round((Date.now() - started) / 1000, 1),
      samples,
      rssGrowthAfter1kMB: round(last.rssMB - after1k.rssMB, 1),
      heapGrowthAfter1kMB: round(last.heapMB - after1k.heapMB, 1),
    }
  }
} finally {
  await removeDir(dir)
}
console.log(JSON.stringify(result))
const line = Object.entries(result.transports).map(([t, r]) => `${t}: RSS ${r.rssGrowthAfter1kMB >= 0 ? '+' : ''}${r.rssGrowthAfter1kMB} MB, heap ${r.heapGrowthAfter1kMB >= 0 ? '+' : ''}${r.heapGrowthAfter1kMB} MB after the first 1,000 of ${CYCLES} cycles`).join('; ')
console.log(`churn: ${line}`)
