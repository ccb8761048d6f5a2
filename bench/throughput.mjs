// Bulk throughput on loopback, sender (this process) and receiver (a forked child) in separate
// processes, all in one run so the ratios are comparable:
//   tls        raw node:tls sockets, TLS 1.3, Ed25519 certificates from the dev PKI (baseline)
//   tcp-mtls   a Hypha node over TCP + the mtls encrypter + yamux
//   quic       a Hypha node over QUIC (@chainsafe/libp2p-quic), admitted by mTLS admission
//   stock      stock js-libp2p: TCP + noise + @chainsafe/libp2p-yamux, default options
//   mtls-libp2p-yamux  TCP + the mtls encrypter + @libp2p/yamux 8.0.3 (the other yamux)
// each over 1 connection/stream and over 8 parallel ones (raw TLS: 8 sockets; libp2p: 8 streams
// on one connection). Each run moves BENCH_MIB MiB in total (split over the streams); the clock
// runs from the first byte sent until the receiver has acknowledged every byte of every stream.
// Rounds interleave the cases so machine noise hits all alike; medians of BENCH_REPS rounds.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import tls from 'node:tls'
import { multiaddr } from '@multiformats/multiaddr'
import {
  childCpu,
  decodeLength,
  encodeLength,
  forkChild,
  HEADER_BYTES,
  LISTEN,
  makePki,
  median,
  removeDir,
  round,
  startVariantNode,
  VARIANTS,
  streamState,
  SINK_PROTOCOL,
  startNode,
  stopChild,
} from './lib/common.mjs'

const MIB = Number(process.env.BENCH_MIB ?? 64)
const REPS = Number(process.env.BENCH_REPS ?? 5)
const STREAM_COUNTS = [1, 8]
const CHUNK_BYTES = 64 * 1024
const TOTAL_BYTES = MIB * 1024 * 1024
const chunk = randomBytes(CHUNK_BYTES)

/** Reads the 8-byte ack off an async iterable of chunks; resolves with [count, time received]. */
function ackReader() {
  const buf = new Uint8Array(HEADER_BYTES)
  let filled = 0
  let done
  const promise = new Promise((resolve) => {
    done = resolve
  })
  return {
    promise,
    push(data) {
      if (filled === HEADER_BYTES) return
      const take = Math.min(HEADER_BYTES - filled, data.byteLength)
      buf.set(data.subarray(0, take), filled)
      filled += take
      if (filled === HEADER_BYTES) done({ count: decodeLength(buf), at: performance.now() })
    },
    end() {
      if (filled < HEADER_BYTES) done({ count: -1, at: performance.now() })
    },
  }
}

// ---- libp2p streams ----

async function pumpStream(stream, bytes) {
  const ack = ackReader()
  // start reading before sending: a reply that arrives before iteration starts can hang the loop
  const reading = (async () => {
    for await (const data of stream) ack.push(data)
    ack.end()
  })()
  reading.catch(() => ack.end())
  if (!stream.send(encodeLength(bytes))) await stream.onDrain()
  let sent = 0
  while (sent < bytes) {
    const n = Math.min(CHUNK_BYTES, bytes - sent)
    if (!stream.send(n === CHUNK_BYTES ? chunk : chunk.subarray(0, n))) await stream.onDrain()
    sent += n
  }
  await stream.close()
  return { ...(await ack.promise), reading }
}

/** Streams of the libp2p run in progress (a stall dump names them). */
const activeStreams = new Set()

async function runLibp2p(connection, streams, total) {
  const per = total / streams
  const opened = await Promise.all(Array.from({ length: streams }, () => connection.newStream(SINK_PROTOCOL, { maxOutboundStreams: 256 })))
  for (const s of opened) activeStreams.add(s)
  const start = performance.now()
  const results = await Promise.all(opened.map((s) => pumpStream(s, per))).finally(() => activeStreams.clear())
  const end = Math.max(...results.map((r) => r.at))
  await Promise.all(results.map((r) => r.reading))
  return check(results, per, end - start)
}

// ---- raw TLS sockets ----

async function connectTls(port, material) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ...material,
    checkServerIdentity: () => undefined,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
  })
  await once(socket, 'secureConnect')
  if (!socket.authorized) throw new Error(`raw TLS baseline not authorised: ${socket.authorizationError}`)
  socket.setNoDelay(true)
  return socket
}

/**
 * Waits for 'drain', or for the socket to close. The receiver acknowledges and ends the moment
 * the last byte arrives; when that FIN is read before the last write's completion, the socket
 * is ending (allowHalfOpen false) and Node never emits 'drain' on an ending stream. Waiting for
 * 'drain' alone then hung the run forever, both processes idle: the "stall" of issue 12, seen in
 * the raw TLS baseline (a stall dump showed all 8 sockets with every byte written, the ack read
 * and the socket closed while the run never returned), not in the libp2p streams.
 */
function drainedOrClosed(socket) {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}

async function pumpSocket(socket, bytes) {
  const ack = ackReader()
  socket.on('data', (data) => ack.push(data))
  socket.on('end', () => ack.end())
  socket.on('error', () => ack.end())
  socket.write(encodeLength(bytes))
  let sent = 0
  while (sent < bytes) {
    const n = Math.min(CHUNK_BYTES, bytes - sent)
    if (!socket.write(n === CHUNK_BYTES ? chunk : chunk.subarray(0, n))) await drainedOrClosed(socket)
    sent += n
  }
  return ack.promise
}

/** Raw TLS sockets of the run in progress (a stall dump names them). */
const activeSockets = new Set()
const socketState = (socket) => ({
  port: socket.localPort, bytesWritten: socket.bytesWritten, bytesRead: socket.bytesRead, writableLength: socket.writableLength,
  destroyed: socket.destroyed, readyState: socket.readyState, writableNeedDrain: socket.writableNeedDrain, ended: socket.readableEnded,
})

async function runTls(port, material, streams, total) {
  const per = total / streams
  const sockets = await Promise.all(Array.from({ length: streams }, () => connectTls(port, material)))
  for (const socket of sockets) activeSockets.add(socket)
  const start = performance.now()
  const results = await Promise.all(sockets.map((s) => pumpSocket(s, per)))
  const end = Math.max(...results.map((r) => r.at))
  for (const socket of sockets) socket.destroy()
  activeSockets.clear()
  return check(results, per, end - start)
}

function check(results, per, ms) {
  for (const r of results) {
    if (r.count !== per) throw new Error(`receiver acknowledged ${r.count} bytes of ${per}`)
  }
  return ms
}

// ---- the run ----

/** A run moving no byte for this long has stalled (a healthy 64 MiB run takes < 2 s here). */
const STALL_MS = Number(process.env.BENCH_STALL_MS ?? 30_000)
const debug = process.env.BENCH_DEBUG ? (...a) => console.error(...a) : () => {}
const started = performance.now()
const { dir, pki } = await makePki(['sender', 'receiver'])
let receiver
let sender
const variantSenders = []
try {
  receiver = await forkChild(new URL('./lib/peer.mjs', import.meta.url), {
    mode: 'sink',
    files: pki.nodes.receiver,
    role: 'gateway',
    listen: LISTEN.both,
    variants: VARIANTS,
  })
  const { child, info } = receiver
  sender = await startNode(pki.nodes.sender, 'scheduler', LISTEN.both)
  const libp2p = sender.node.libp2p
  debug('sender started')
  const tcpConnection = await libp2p.dial(multiaddr(info.addresses.tcp), { force: true })
  const quicConnection = await libp2p.dial(multiaddr(info.addresses.quic), { force: true })
  // QUIC's own TLS has no CA hook: wait until the admission protocol has checked the chain
  await libp2p.services.mtlsAdmission.waitForAdmission(quicConnection)
  debug('connected')
  const variantConnections = {}
  for (const variant of VARIANTS) {
    const started = await startVariantNode(variant, pki.nodes.sender)
    variantSenders.push(started)
    variantConnections[variant] = await started.node.dial(multiaddr(info.variants[variant]))
  }
  const files = pki.nodes.sender
  const [key, cert, ca] = await Promise.all([readFile(files.key), readFile(files.cert), readFile(files.trust)])
  const material = { key, cert, ca }

  const transports = {
    tls: (streams, total) => runTls(info.tlsPort, material, streams, total),
    'tcp-mtls-yamux': (streams, total) => runLibp2p(tcpConnection, streams, total),
    quic: (streams, total) => runLibp2p(quicConnection, streams, total),
    ...Object.fromEntries(VARIANTS.map((v) => [v, (streams, total) => runLibp2p(variantConnections[v], streams, total)])),
  }
  const cases = []
  for (const streams of STREAM_COUNTS) {
    for (const [transport, run] of Object.entries(transports)) {
      cases.push({ key: `${transport}/${streams}`, transport, streams, run, mbps: [], senderCpuMsPerMiB: [], receiverCpuMsPerMiB: [] })
    }
  }

  // A run that stalls fails the benchmark with both ends' stream states instead of hanging.
  const withWatchdog = async (what, work) => {
    let timer
    const stalled = new Promise((_, reject) => {
      timer = setTimeout(async () => {
        child.send({ type: 'dump-streams' })
        const [dump] = await once(child, 'message', { signal: AbortSignal.timeout(5_000) }).catch(() => [{ streams: 'no answer' }])
        const sender = [...[...activeStreams].map(streamState), ...[...activeSockets].map(socketState)]
        reject(new Error(`${what} stalled for ${STALL_MS} ms: sender streams ${JSON.stringify(sender)}; receiver streams ${JSON.stringify(dump.streams)}`))
      }, STALL_MS)
    })
    try {
      return await Promise.race([work(), stalled])
    } finally {
      clearTimeout(timer)
    }
  }
  // warm-up: JIT, yamux windows, QUIC congestion window
  for (const c of cases) {
    debug('warm-up', c.key)
    await withWatchdog(`warm-up ${c.key}`, () => c.run(c.streams, Math.min(TOTAL_BYTES, 16 * 1024 * 1024)))
  }
  for (let rep = 0; rep < REPS; rep++) {
    for (const c of cases) {
      debug('run', rep, c.key)
      const cpuBefore = process.cpuUsage()
      const childBefore = await childCpu(child)
      const ms = await withWatchdog(`run ${rep} ${c.key}`, () => c.run(c.streams, TOTAL_BYTES))
      const cpu = process.cpuUsage(cpuBefore)
      const childUsed = (await childCpu(child)) - childBefore
      c.mbps.push(TOTAL_BYTES / 1e6 / (ms / 1000))
      c.senderCpuMsPerMiB.push((cpu.user + cpu.system) / 1000 / MIB)
      c.receiverCpuMsPerMiB.push(childUsed / 1000 / MIB)
    }
  }

  const results = {}
  for (const c of cases) {
    results[c.key] = {
      medianMBps: round(median(c.mbps), 1),
      minMBps: round(Math.min(...c.mbps), 1),
      maxMBps: round(Math.max(...c.mbps), 1),
      senderCpuMsPerMiB: round(median(c.senderCpuMsPerMiB)),
      receiverCpuMsPerMiB: round(median(c.receiverCpuMsPerMiB)),
    }
  }
  for (const c of cases) {
    results[c.key].ratioToTls = round(results[c.key].medianMBps / results[`tls/${c.streams}`].medianMBps)
    results[c.key].ratioToStock = round(results[c.key].medianMBps / results[`stock/${c.streams}`].medianMBps)
  }
  const report = {
    benchmark: 'throughput',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    mibPerRun: MIB,
    reps: REPS,
    sendChunkBytes: CHUNK_BYTES,
    unit: 'MB/s (1e6 bytes), median of reps; ratioToTls / ratioToStock = median / the raw TLS / stock js-libp2p median with the same stream count',
    connections: {
      tcp: { encryption: tcpConnection.encryption, multiplexer: tcpConnection.multiplexer },
      quic: { encryption: quicConnection.encryption, multiplexer: quicConnection.multiplexer },
      ...Object.fromEntries(VARIANTS.map((v) => [v, { encryption: variantConnections[v].encryption, multiplexer: variantConnections[v].multiplexer }])),
    },
    results,
    seconds: round((performance.now() - started) / 1000, 1),
  }
  console.log(JSON.stringify(report))
  const line = (streams) =>
    Object.keys(transports)
      .map((t) => {
        const r = results[`${t}/${streams}`]
        if (t === 'tls') return `${t} ${r.medianMBps}`
        return `${t} ${r.medianMBps} (${r.ratioToTls}x TLS${t === 'stock' ? '' : `, ${r.ratioToStock}x stock`})`
      })
      .join(', ')
  console.log(`throughput (loopback, ${MIB} MiB/run, median of ${REPS}, MB/s): 1 stream: ${line(1)}; 8 streams: ${line(8)}`)
} finally {
  await Promise.all(variantSenders.map((v) => v.stop().catch(() => {})))
  await sender?.stop().catch(() => {})
  if (receiver) await stopChild(receiver.child)
  await removeDir(dir)
}
