// The far end of the multi-process benchmarks, forked by throughput.mjs and rpc-latency.mjs.
// Receives {type: 'init', mode, files, role, listen} over IPC, starts, answers {type: 'ready'}.
//   mode 'sink': a real Hypha node (createNode) handling SINK_PROTOCOL, plus a raw node:tls
//                server (TLS 1.3, the same Ed25519 certificate and trust bundle) as the baseline.
//                Both read an 8-byte length header, count that many bytes, reply with the
//                count (8 bytes) and close.
//   mode 'echo': a real Hypha node serving the Echo request/response protocol.
//   mode 'bulk': a real Hypha node with bulk transfer on, payloads in `bulkDirectory`.
//   mode 'relay': a gateway (circuit relay server) and nothing else.
// Exits when told to stop or when the parent goes away (IPC channel closed).

import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import tls from 'node:tls'
import { addressOf, encodeLength, lengthCounter, SINK_PROTOCOL, startNode, startVariantNode, streamState } from './common.mjs'
import { lpStream } from '@libp2p/utils'
import { Echo, STOCK_ECHO_PROTOCOL } from './echo-protocol.mjs'

let running
let tlsServer
/** The comparison nodes (common.mjs VARIANTS) started for `init.variants`. */
const variantNodes = []

/** Sink streams and TLS sockets in progress, with how many bytes each has read (a stall dump names them). */
const sinkStreams = new Map()
const tlsSockets = new Set()

async function serveSinkStream(stream) {
  const count = lengthCounter()
  let acked = false
  const progress = { stream, read: 0 }
  sinkStreams.set(stream, progress)
  stream.addEventListener('close', () => sinkStreams.delete(stream), { once: true })
  for await (const chunk of stream) {
    progress.read += chunk.byteLength
    const total = count(chunk)
    if (!acked && total !== undefined) {
      acked = true
      stream.send(encodeLength(total))
    }
  }
  await stream.close()
}

async function startTlsEcho(files) {
  const [key, cert, ca] = await Promise.all([readFile(files.key), readFile(files.cert), readFile(files.trust)])
  tlsServer = tls.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })
  tlsServer.on('secureConnection', (socket) => {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise((resolve) => tlsServer.listen(0, '127.0.0.1', resolve))
  return tlsServer.address().port
}

async function startTlsSink(files) {
  const [key, cert, ca] = await Promise.all([readFile(files.key), readFile(files.cert), readFile(files.trust)])
  tlsServer = tls.createServer({
    key,
    cert,
    ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
  })
  tlsServer.on('secureConnection', (socket) => {
    socket.setNoDelay(true)
    const count = lengthCounter()
    let acked = false
    const progress = { socket, read: 0 }
    tlsSockets.add(progress)
    socket.once('close', () => tlsSockets.delete(progress))
    socket.on('data', (chunk) => {
      progress.read += chunk.byteLength
      const total = count(chunk)
      if (!acked && total !== undefined) {
        acked = true
        socket.end(encodeLength(total))
      }
    })
    socket.on('error', () => {})
  })
  tlsServer.on('tlsClientError', (err) => process.send?.({ type: 'log', message: `tls client error: ${err.message}` }))
  tlsServer.listen(0, '127.0.0.1')
  await once(tlsServer, 'listening')
  return tlsServer.address().port
}

async function start(init) {
  running = await startNode(init.files, init.role, init.listen, {
    ...(init.bulkDirectory === undefined ? {} : { bulkDirectory: init.bulkDirectory }),
    ...(init.config === undefined ? {} : { config: init.config }),
  })
  const { node } = running
  const ready = { type: 'ready', peerId: node.peerId.toString(), addresses: {} }
  for (const transport of ['tcp', 'quic']) {
    try {
      ready.addresses[transport] = addressOf(node, transport)
    } catch {}
  }
  if (init.waitForReservation === true) {
    // reachability "private": ready once the relay holds a reservation, with the circuit address
    const deadline = Date.now() + 30_000
    while (!node.health().reservationHeld) {
      if (Date.now() > deadline) throw new Error('no relay reservation within 30 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    ready.addresses.relay = node.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit')).toString()
  }
  if (init.mode === 'sink') {
    await node.libp2p.handle(
      SINK_PROTOCOL,
      (stream) => {
        serveSinkStream(stream).catch((err) => stream.abort(err))
      },
      { maxInboundStreams: 256 },
    )
    ready.tlsPort = await startTlsSink(init.files)
    ready.variants = {}
    for (const variant of init.variants ?? []) {
      const started = await startVariantNode(variant, init.files)
      variantNodes.push(started)
      await started.node.handle(SINK_PROTOCOL, (stream) => {
        serveSinkStream(stream).catch((err) => stream.abort(err))
      }, { maxInboundStreams: 256 })
      ready.variants[variant] = addressOf(started.node, 'tcp')
    }
  } else if (init.mode === 'echo') {
    await node.rpc.handle(Echo.id, Echo, (request) => request, { maxConcurrent: 64 })
    // the latency baseline: a round trip on one raw TLS socket that stays open (bytes echoed back)
    if (init.tlsEcho === true) ready.tlsPort = await startTlsEcho(init.files)
    ready.variants = {}
    for (const variant of init.variants ?? []) {
      const started = await startVariantNode(variant, init.files)
      variantNodes.push(started)
      // js-libp2p's own request/response idiom: a stream per request, one length-prefixed message each way
      await started.node.handle(STOCK_ECHO_PROTOCOL, async (stream) => {
        const lp = lpStream(stream)
        await lp.write(await lp.read())
        await stream.close()
      })
      ready.variants[variant] = addressOf(started.node, 'tcp')
    }
  } else if (init.mode !== 'bulk' && init.mode !== 'relay') {
    // 'bulk': the node's bulk transfer service (bulkDirectory) is all there is to serve;
    // 'relay': a gateway whose circuit relay server is all there is
    throw new Error(`unknown mode ${init.mode}`)
  }
  process.send({ type: 'ready', ...ready })
}

async function stop() {
  tlsServer?.close()
  await Promise.all(variantNodes.map((v) => v.stop()))
  await running?.stop()
  process.exit(0)
}

process.on('disconnect', () => process.exit(0))
process.on('message', async (message) => {
  if (message?.type === 'init') {
    start(message).catch((err) => {
      process.send?.({ type: 'error', message: err?.stack ?? String(err) })
      process.exit(1)
    })
  } else if (message?.type === 'dump-streams') {
    process.send?.({
      type: 'dump-streams',
      streams: [
        ...[...sinkStreams.values()].map(({ stream, read }) => ({ read, ...streamState(stream) })),
        ...[...tlsSockets].map(({ socket, read }) => ({ tls: true, read, remotePort: socket.remotePort, destroyed: socket.destroyed, readyState: socket.readyState, isPaused: socket.isPaused() })),
      ],
      pendingTlsHandshakes: tlsServer?._connections,
    })
  } else if (message?.type === 'cpu') {
    const { user, system } = process.cpuUsage()
    process.send?.({ type: 'cpu', user, system })
  } else if (message?.type === 'mem') {
    // a full collection first (when --expose-gc), so the figures are what stays, not garbage
    globalThis.gc?.()
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
    process.send?.({ type: 'mem', rss, heapUsed, external, arrayBuffers, connections: running?.node.libp2p.getConnections().length ?? 0 })
  } else if (message?.type === 'rss') {
    process.send?.({ type: 'rss', rss: process.memoryUsage.rss() })
  } else if (message?.type === 'heap-snapshot') {
    // for leak hunts (bench/churn.mjs with BENCH_CHURN_SNAPSHOTS=1): where the heap went
    globalThis.gc?.()
    const file = (await import('node:v8')).writeHeapSnapshot(message.file)
    process.send?.({ type: 'heap-snapshot', file })
  } else if (message?.type === 'stop') {
    stop().catch(() => process.exit(1))
  }
})
