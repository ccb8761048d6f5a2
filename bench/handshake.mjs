// Handshake cost of the mtls encrypter against stock @libp2p/tls and noise, on loopback TCP
// with yamux: time from dial() to an upgraded connection, for fresh connections, median of
// N dials per encrypter. Rounds interleave the encrypters so machine noise hits all alike.
// Both ends run in this process (one core does both sides' crypto), so absolute figures are
// pessimistic; the ratios are what to compare.
import { performance } from 'node:perf_hooks'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { createLibp2p } from 'libp2p'
import { NodeIdentity, mtlsSecurity } from '@hypha/mtls'
import { makePki, median, percentile, removeDir } from './lib/common.mjs'

const DIALS = Number(process.env.BENCH_DIALS ?? 50)
const WARMUP = 5

async function node(options) {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 100_000, maxIncomingPendingConnections: 1000 },
    ...options,
    connectionGater: { denyDialMultiaddr: () => false, ...options.connectionGater },
  })
}

async function pair(name, makeOptions) {
  return { name, client: await node(await makeOptions('client')), server: await node(await makeOptions('server')), samples: [] }
}

async function dialOnce(p, record) {
  const addr = p.server.getMultiaddrs()[0]
  const start = performance.now()
  const connection = await p.client.dial(addr)
  const elapsed = performance.now() - start
  if (record) p.samples.push(elapsed)
  await connection.close()
  // wait until the server side has let go too, so the next dial is a fresh handshake
  while (p.server.getConnections().length > 0) await new Promise((r) => setTimeout(r, 1))
}

const { dir, pki } = await makePki(['client', 'server'])
const identity = (name) => NodeIdentity.load(pki.nodes[name], { log: { info() {}, warn() {} } })
try {
  const pairs = [
    await pair('mtls', async (role) => {
      const id = await identity(role)
      const security = mtlsSecurity(id)
      return { privateKey: id.privateKey, connectionEncrypters: security.connectionEncrypters, connectionGater: security.connectionGater, services: security.services }
    }),
    await pair('libp2p-tls', async () => ({ privateKey: await generateKeyPair('Ed25519'), connectionEncrypters: [tls()] })),
    await pair('noise', async () => ({ privateKey: await generateKeyPair('Ed25519'), connectionEncrypters: [noise()] })),
  ]
  for (let i = 0; i < WARMUP; i++) for (const p of pairs) await dialOnce(p, false)
  for (let i = 0; i < DIALS; i++) for (const p of pairs) await dialOnce(p, true)
  for (const p of pairs) {
    await p.client.stop()
    await p.server.stop()
  }
  const results = Object.fromEntries(
    pairs.map((p) => [p.name, { medianMs: +median(p.samples).toFixed(2), p90Ms: +percentile(p.samples, 90).toFixed(2), dials: p.samples.length }]),
  )
  const ratio = (a, b) => +(results[a].medianMs / results[b].medianMs).toFixed(2)
  const report = {
    benchmark: 'handshake',
    node: process.version,
    dials: DIALS,
    results,
    ratios: { mtlsVsLibp2pTls: ratio('mtls', 'libp2p-tls'), mtlsVsNoise: ratio('mtls', 'noise') },
  }
  console.log(JSON.stringify(report))
  console.log(
    `handshake (TCP+yamux, loopback, median of ${DIALS} dials): mtls ${results.mtls.medianMs} ms, @libp2p/tls ${results['libp2p-tls'].medianMs} ms, noise ${results.noise.medianMs} ms; mtls/tls ${report.ratios.mtlsVsLibp2pTls}x, mtls/noise ${report.ratios.mtlsVsNoise}x`,
  )
} finally {
  await removeDir(dir)
}
