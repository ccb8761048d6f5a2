// Bulk transfer of a large payload (BENCH_BULK_MIB, default 1024 MiB) between two Hypha nodes in
// two processes (the far one listening on one transport only) over each transport in BENCH_BULK_TRANSPORTS
// (default tcp,quic,relay; relay = TCP through a circuit relay in a third process): a push cut
// halfway (the caller aborts and hangs up), the push again (resumed from what the receiver
// holds), then a pull back into a new file. Both ends check size and sha256. RSS is sampled
// every 50 ms on both sides; the figure is the peak above each side's RSS before the transfer.
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { hashFile, transportOf } from '@hypha/network-core'
import { multiaddr } from '@multiformats/multiaddr'
import { forkChild, LISTEN, makePki, removeDir, round, startNode, stopChild } from './lib/common.mjs'

const MIB = Number(process.env.BENCH_BULK_MIB ?? 1024)
const TRANSPORTS = (process.env.BENCH_BULK_TRANSPORTS ?? 'tcp,quic,relay').split(',')
const MB = 1e6

const started = performance.now()
const { dir, pki } = await makePki(['client', 'server', 'relay'])
const peerScript = new URL('./lib/peer.mjs', import.meta.url)
const work = await mkdtemp(join(tmpdir(), 'hypha-bench-bulk-'))
let server
let relay
let client
try {
  const source = join(work, 'payload.bin')
  await writeRandom(source, MIB * 1024 * 1024)
  const expected = await hashFile(source)
  const results = {}
  for (const transport of TRANSPORTS) {
    // a client per case; the relayed case's listens nowhere, so the far node (which learns this
    // side's addresses through identify) cannot open a direct connection that a dial would reuse
    client = await startNode(pki.nodes.client, 'scheduler', transport === 'relay' ? [] : LISTEN.both, { bulkDirectory: join(work, `client-store-${transport}`) })
    const { node } = client
    // a server per transport, listening on that transport only, so the reconnect after the cut
    // cannot land on the other one
    // 'relay': the server is unreachable (reachability private, no hole punching) and reached
    // through a relay: a gateway in a third process. The circuit carries TLS + yamux end to end.
    if (transport === 'relay') {
      relay = await forkChild(peerScript, {
        mode: 'relay', files: pki.nodes.relay, role: 'gateway', listen: LISTEN.tcp,
        // a circuit carries the whole pull (1 GiB + framing) and the default limit is 1 GiB
        config: { relay: { max_circuit_bytes: '8GiB' } },
      })
    }
    server = await forkChild(peerScript, {
      mode: 'bulk',
      files: pki.nodes.server,
      role: transport === 'relay' ? 'worker' : 'gateway',
      listen: LISTEN[transport === 'relay' ? 'tcp' : transport],
      bulkDirectory: join(work, `server-store-${transport}`),
      ...(transport === 'relay'
        ? {
            config: { bootstrap: [`${relay.info.addresses.tcp}/p2p/${relay.info.peerId}`], nat: { reachability: 'private', hole_punching: false, reservation_check_interval: '200ms' } },
            waitForReservation: true,
          }
        : {}),
    })
    const target = multiaddr(server.info.addresses[transport])
    const connect = async () => {
      const connection = await node.dial(target)
      await node.libp2p.services.mtlsAdmission?.waitForAdmission(connection)
      if (transportOf(connection) !== transport) throw new Error(`dialled ${transport}, got ${transportOf(connection)}`)
      return connection.remotePeer
    }
    const name = `payload-${transport}.bin`
    const peer = await connect()
    const rss = await rssWatch(server.child)

    // 1. push, cut halfway
    const cut = new AbortController()
    let cutAt = 0
    let hungUp = Promise.resolve()
    await node.bulk.push(peer, name, source, {
      signal: cut.signal,
      onProgress: ({ transferred, total }) => {
        if (!cut.signal.aborted && transferred >= total / 2) {
          cutAt = transferred
          cut.abort(new Error('cut halfway'))
          hungUp = node.libp2p.hangUp(peer)
        }
      },
    }).then(() => { throw new Error('the cut push completed') }, () => {})
    await hungUp

    // 2. push again: resumes from what the server holds
    await connect()
    let t0 = performance.now()
    let resumedFrom
    const pushed = await node.bulk.push(peer, name, source, { onProgress: (p) => { resumedFrom ??= p.transferred } })
    const pushSeconds = (performance.now() - t0) / 1000
    if (pushed.sha256 !== expected.sha256) throw new Error('pushed digest differs')

    // 3. pull it back
    const destination = join(work, `back-${transport}.bin`)
    t0 = performance.now()
    const pulled = await node.bulk.pull(peer, name, destination)
    const pullSeconds = (performance.now() - t0) / 1000
    if (pulled.sha256 !== expected.sha256 || (await hashFile(destination)).sha256 !== expected.sha256) throw new Error('pulled digest differs')
    const peaks = await rss.stop()
    await rm(destination, { force: true })
    await node.libp2p.hangUp(peer)
    await stopChild(server.child)
    server = undefined
    if (relay !== undefined) await stopChild(relay.child)
    relay = undefined
    await client.stop()
    client = undefined

    const resumedBytes = expected.size - (resumedFrom ?? expected.size)
    results[transport] = {
      cutAtMiB: round(cutAt / 2 ** 20, 0),
      resumedPushMBps: round((expected.size - (resumedFrom ?? 0)) / MB / pushSeconds, 1),
      pullMBps: round(expected.size / MB / pullSeconds, 1),
      resumedBytes,
      rssGrowthMiB: { thisSide: round(peaks.local / 2 ** 20, 1), otherSide: round(peaks.remote / 2 ** 20, 1) },
      // where this side's memory was at its RSS peak (external is native memory held by JS objects)
      thisSideAtPeakMiB: Object.fromEntries(Object.entries(peaks.localAtPeak ?? {}).map(([k, v]) => [k, round(v / 2 ** 20, 1)])),
    }
  }
  const report = { benchmark: 'bulk', date: new Date().toISOString(), node: process.version, cpus: cpus().length, payloadMiB: MIB, sha256: expected.sha256, results, seconds: round((performance.now() - started) / 1000, 1) }
  console.log(JSON.stringify(report))
  console.log(`bulk (${MIB} MiB, sha256 checked, push cut halfway then resumed, then pulled back): ${Object.entries(results).map(([t, r]) => `${t}: resumed push ${r.resumedPushMBps} MB/s from ${r.cutAtMiB} MiB, pull ${r.pullMBps} MB/s, peak RSS growth ${r.rssGrowthMiB.thisSide} / ${r.rssGrowthMiB.otherSide} MiB (this side / the other)`).join('; ')}`)
} finally {
  await client?.stop().catch(() => {})
  if (server !== undefined) await stopChild(server.child)
  if (relay !== undefined) await stopChild(relay.child)
  await removeDir(dir)
  await rm(work, { recursive: true, force: true })
}

async function writeRandom(path, bytes) {
  const out = createWriteStream(path)
  const block = randomBytes(4 * 1024 * 1024)
  for (let written = 0; written < bytes; written += block.byteLength) {
    // a fresh first 32 bytes per block, so no two blocks are equal (a digest over repeats would prove less)
    randomBytes(32).copy(block)
    if (!out.write(Buffer.from(block.subarray(0, Math.min(block.byteLength, bytes - written))))) await new Promise((r) => out.once('drain', r))
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())))
}

/** Samples this process's RSS and the child's every 50 ms; stop() gives the peaks above the start. */
async function rssWatch(child) {
  const ask = () => new Promise((resolve) => {
    const on = (m) => { if (m?.type === 'rss') { child.off('message', on); resolve(m.rss) } }
    child.on('message', on)
    child.send({ type: 'rss' })
  })
  const base = { local: process.memoryUsage.rss(), remote: await ask() }
  const peak = { ...base }
  let busy = false
  const timer = setInterval(async () => {
    { const m = process.memoryUsage(); if (m.rss > peak.local) { peak.local = m.rss; peak.detail = { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers } } }
    if (busy) return
    busy = true
    peak.remote = Math.max(peak.remote, await ask())
    busy = false
  }, 50)
  return {
    async stop() {
      clearInterval(timer)
      peak.remote = Math.max(peak.remote, await ask())
      return { local: peak.local - base.local, remote: peak.remote - base.remote, localAtPeak: peak.detail }
    },
  }
}
