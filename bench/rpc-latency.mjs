// Request/response latency of a small echo (node.rpc.request / node.rpc.handle: one session
// stream per peer and protocol, opened by the warm-up, carrying every request with an id) over
// TCP (mtls encrypter + yamux) and over QUIC (mTLS admission). The client is this process; the
// servers are two forked Hypha nodes, one listening on TCP only and one on QUIC only, so each
// request's transport is certain. The baseline, in the same run: a round trip of the same JSON
// message on one raw node:tls socket that stays open (TLS 1.3, the same certificates), echoed by
// the TCP server's process. Requests are sequential and alternate between the three (same noise
// for all); BENCH_RPC_N measured requests each after BENCH_RPC_WARMUP. Then throughput:
// BENCH_RPC_PIPELINE_N requests per transport with BENCH_RPC_PIPELINE_DEPTH in flight.
import { readFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import tls from 'node:tls'
import { performance } from 'node:perf_hooks'
import { transportOf } from '@hypha/network-core'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { forkChild, LISTEN, makePki, mean, median, percentile, removeDir, round, startNode, startVariantNode, stopChild } from './lib/common.mjs'
import { Echo, STOCK_ECHO_PROTOCOL } from './lib/echo-protocol.mjs'

const N = Number(process.env.BENCH_RPC_N ?? 1000)
const WARMUP = Number(process.env.BENCH_RPC_WARMUP ?? 100)
const TEXT = 'x'.repeat(32)
const PIPELINE_N = Number(process.env.BENCH_RPC_PIPELINE_N ?? 20_000)
const PIPELINE_DEPTH = Number(process.env.BENCH_RPC_PIPELINE_DEPTH ?? 64)

const started = performance.now()
const { dir, pki } = await makePki(['client', 'server-tcp', 'server-quic'])
const servers = []
let client
let stock
try {
  const peer = new URL('./lib/peer.mjs', import.meta.url)
  for (const transport of ['tcp', 'quic']) {
    const server = await forkChild(peer, {
      mode: 'echo',
      files: pki.nodes[`server-${transport}`],
      role: 'gateway',
      listen: LISTEN[transport],
      tlsEcho: transport === 'tcp',
      ...(transport === 'tcp' ? { variants: ['stock'] } : {}),
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

  // the raw TLS socket: newline-delimited JSON, echoed byte for byte
  const files = pki.nodes.client
  const [key, cert, ca] = await Promise.all([readFile(files.key), readFile(files.cert), readFile(files.trust)])
  const tlsPort = servers.find((s) => s.transport === 'tcp').info.tlsPort
  const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, key, cert, ca, checkServerIdentity: () => undefined, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })
  await new Promise((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject) })
  socket.setNoDelay(true)
  socket.setEncoding('utf8')
  let pendingLine
  let received = ''
  socket.on('data', (text) => {
    received += text
    const end = received.indexOf('\n')
    if (end >= 0 && pendingLine !== undefined) {
      const line = received.slice(0, end)
      received = received.slice(end + 1)
      const resolve = pendingLine
      pendingLine = undefined
      resolve(line)
    }
  })
  const tlsTarget = {
    transport: 'tls-same-socket',
    samples: [],
    roundTrip: (message) => new Promise((resolve) => {
      pendingLine = (line) => resolve(JSON.parse(line))
      socket.write(`${JSON.stringify(message)}\n`)
    }),
  }
  targets.push(tlsTarget)

  // stock js-libp2p (TCP + noise + yamux, defaults) with its own idiom: a stream per request
  stock = await startVariantNode('stock')
  const stockServer = multiaddr(servers.find((s) => s.transport === 'tcp').info.variants.stock)
  await stock.node.dial(stockServer)
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  targets.push({
    transport: 'stock',
    samples: [],
    roundTrip: async (message) => {
      const stream = await stock.node.dialProtocol(stockServer, STOCK_ECHO_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(encoder.encode(JSON.stringify(message)))
      const answer = JSON.parse(decoder.decode((await lp.read()).subarray()))
      await stream.close()
      return answer
    },
  })

  let seq = 0
  const once = async (target, record) => {
    const t0 = performance.now()
    const message = { seq: ++seq, text: TEXT }
    const response = target.roundTrip !== undefined
      ? Echo.response.parse(await target.roundTrip(Echo.request.parse(message)))
      : await node.rpc.request(target.peerId, Echo.id, Echo, message, { timeoutMs: 5_000 })
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
  const libp2pTargets = targets.filter((t) => t.peerId !== undefined)
  if (stock.node.getConnections().length !== 1) throw new Error(`stock client holds ${stock.node.getConnections().length} connections, expected 1`)
  const used = Object.fromEntries(
    libp2pTargets.map((t) => [t.transport, [...new Set(node.libp2p.getConnections(t.peerId).map(transportOf))].join('+')]),
  )
  for (const t of libp2pTargets) {
    if (used[t.transport] !== t.transport) throw new Error(`${t.transport} server reached over ${used[t.transport]}`)
  }
  socket.destroy()

  // Pipelined: PIPELINE_N requests per transport with PIPELINE_DEPTH in flight on one connection.
  const pipelined = {}
  for (const target of libp2pTargets) {
    let next = 0
    const t0 = performance.now()
    const lane = async () => {
      while (next < PIPELINE_N) {
        const n = next++
        const response = await node.rpc.request(target.peerId, Echo.id, Echo, { seq: n, text: TEXT }, { timeoutMs: 10_000 })
        if (response.seq !== n) throw new Error(`pipelined echo returned seq ${response.seq}, expected ${n}`)
      }
    }
    await Promise.all(Array.from({ length: PIPELINE_DEPTH }, lane))
    pipelined[target.transport] = { requestsPerSecond: round(PIPELINE_N / ((performance.now() - t0) / 1000), 0), requests: PIPELINE_N, inFlight: PIPELINE_DEPTH }
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
  const toTls = (t) => ({ p50: round(results[t].p50Us / results['tls-same-socket'].p50Us), p99: round(results[t].p99Us / results['tls-same-socket'].p99Us) })
  const toStock = (t) => ({ p50: round(results[t].p50Us / results.stock.p50Us), p99: round(results[t].p99Us / results.stock.p99Us) })
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
    ratiosToTlsSameSocket: { tcp: toTls('tcp'), quic: toTls('quic'), stock: toTls('stock') },
    ratiosToStock: { tcp: toStock('tcp'), quic: toStock('quic') },
    pipelined,
    seconds: round((performance.now() - started) / 1000, 1),
  }
  console.log(JSON.stringify(report))
  const fmt = (r) => `p50 ${r.p50Us} us, p99 ${r.p99Us} us, mean ${r.meanUs} us`
  console.log(
    `rpc-latency (echo, ${N} sequential requests per transport, loopback): raw TLS same socket ${fmt(results['tls-same-socket'])}; tcp ${fmt(results.tcp)} (p50 ${report.ratiosToTlsSameSocket.tcp.p50}x TLS); quic ${fmt(results.quic)} (p50 ${report.ratiosToTlsSameSocket.quic.p50}x TLS); stock js-libp2p, a stream per request, ${fmt(results.stock)} (p50 ${report.ratiosToTlsSameSocket.stock.p50}x TLS; tcp p50 ${report.ratiosToStock.tcp.p50}x stock); quic/tcp p50 ${report.ratiosQuicToTcp.p50}x, p99 ${report.ratiosQuicToTcp.p99}x, mean ${report.ratiosQuicToTcp.mean}x; ${PIPELINE_DEPTH} in flight: tcp ${pipelined.tcp.requestsPerSecond} req/s, quic ${pipelined.quic.requestsPerSecond} req/s`,
  )
} finally {
  await stock?.stop().catch(() => {})
  await client?.stop().catch(() => {})
  for (const server of servers) await stopChild(server.child)
  await removeDir(dir)
}
