// Request/response latency of a small echo (node.rpc.request / node.rpc.handle, one stream per
// request as the service does it: stream open + protocol negotiation + request + response) over
// TCP (mtls encrypter + yamux) and over QUIC (mTLS admission). The client is this process; the
// servers are two forked Hypha nodes, one listening on TCP only and one on QUIC only, so each
// request's transport is certain. Requests are sequential and alternate between the two servers
// (same noise for both); BENCH_RPC_N measured requests per transport after BENCH_RPC_WARMUP.
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { transportOf } from '@hypha/network-core'
import { multiaddr } from '@multiformats/multiaddr'
import { forkChild, LISTEN, makePki, mean, median, percentile, removeDir, round, startNode, stopChild } from './lib/common.mjs'
import { Echo } from './lib/echo-protocol.mjs'

const N = Number(process.env.BENCH_RPC_N ?? 1000)
const WARMUP = Number(process.env.BENCH_RPC_WARMUP ?? 100)
const TEXT = 'x'.repeat(32)

const started = performance.now()
const { dir, pki } = await makePki(['client', 'server-tcp', 'server-quic'])
const servers = []
let client
try {
  const peer = new URL('./lib/peer.mjs', import.meta.url)
  for (const transport of ['tcp', 'quic']) {
    const server = await forkChild(peer, {
      mode: 'echo',
      files: pki.nodes[`server-${transport}`],
      role: 'gateway',
      listen: LISTEN[transport],
    })
    servers.push({ transport, ...server })
  }
  client = await startNode(pki.nodes.client, 'scheduler', LISTEN.both)
  const { node } = client
  const targets = []
  for (const server of servers) {
    const connection = await node.dial(multiaddr(server.info.addresses[server.transport]))
    await node.libp2p.services.mtlsAdmission?.waitForAdmission(connection)
    targets.push({ transport: server.transport, peerId: connection.remotePeer, samples: [] })
  }

  let seq = 0
  const once = async (target, record) => {
    const t0 = performance.now()
    const response = await node.rpc.request(target.peerId, Echo.id, Echo, { seq: ++seq, text: TEXT }, { timeout: 5_000 })
    const elapsed = performance.now() - t0
    if (response.seq !== seq) throw new Error(`echo returned seq ${response.seq}, expected ${seq}`)
    if (record) target.samples.push(elapsed * 1000)
  }
  for (let i = 0; i < WARMUP + N; i++) {
    // alternate which transport goes first so neither always follows the other
    const order = i % 2 === 0 ? targets : [...targets].reverse()
    for (const target of order) await once(target, i >= WARMUP)
  }
  // every request must have used the intended transport (one direct connection per server)
  const used = Object.fromEntries(
    targets.map((t) => [t.transport, [...new Set(node.libp2p.getConnections(t.peerId).map(transportOf))].join('+')]),
  )
  for (const t of targets) {
    if (used[t.transport] !== t.transport) throw new Error(`${t.transport} server reached over ${used[t.transport]}`)
  }

  const results = {}
  for (const t of targets) {
    results[t.transport] = {
      p50Us: round(percentile(t.samples, 50), 0),
      p99Us: round(percentile(t.samples, 99), 0),
      meanUs: round(mean(t.samples), 0),
      medianUs: round(median(t.samples), 0),
      maxUs: round(Math.max(...t.samples), 0),
      requests: t.samples.length,
    }
  }
  const ratio = (k) => round(results.quic[k] / results.tcp[k])
  const report = {
    benchmark: 'rpc-latency',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    requests: N,
    warmup: WARMUP,
    protocol: Echo.id,
    connections: used,
    results,
    ratiosQuicToTcp: { p50: ratio('p50Us'), p99: ratio('p99Us'), mean: ratio('meanUs') },
    seconds: round((performance.now() - started) / 1000, 1),
  }
  console.log(JSON.stringify(report))
  const fmt = (r) => `p50 ${r.p50Us} us, p99 ${r.p99Us} us, mean ${r.meanUs} us`
  console.log(
    `rpc-latency (echo, ${N} sequential requests per transport, loopback): tcp ${fmt(results.tcp)}; quic ${fmt(results.quic)}; quic/tcp p50 ${report.ratiosQuicToTcp.p50}x, p99 ${report.ratiosQuicToTcp.p99}x, mean ${report.ratiosQuicToTcp.mean}x`,
  )
} finally {
  await client?.stop().catch(() => {})
  for (const server of servers) await stopChild(server.child)
  await removeDir(dir)
}
