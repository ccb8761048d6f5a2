// Shared pieces of the multi-process benchmarks: a throw-away dev PKI, Hypha node configs
// (mtls, loopback only, no metrics), child processes that are always cleaned up, and stats.
import { fork } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux as chainsafeYamux } from '@chainsafe/libp2p-yamux'
import { NODE_RUNTIME_FLAGS } from '@hypha/app-kit/node-flags'
import { mtlsEncrypter, writeDevPki } from '@hypha/mtls'
import { createNode, NodeIdentity, networkConfigSchema, parseConfig } from '@hypha/network-core'
import { tcp } from '@libp2p/tcp'
import { yamux as libp2pYamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'

const quiet = { info() {}, warn() {} }

export const LISTEN = {
  tcp: ['/ip4/127.0.0.1/tcp/0'],
  quic: ['/ip4/127.0.0.1/udp/0/quic-v1'],
  both: ['/ip4/127.0.0.1/udp/0/quic-v1', '/ip4/127.0.0.1/tcp/0'],
}

/**
 * A Hypha config as an operator would write it: mtls, loopback only, metrics off. `extra`:
 * `bootstrap` (addresses), `nat`, `relay` and `dht` (keys of [network.nat] / [network.relay] / [network.dht]).
 */
export function benchConfig(files, listen, extra = {}) {
  const keys = (table) => Object.entries(table ?? {}).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
  const toml = [
    '[network]',
    `listen_addresses = ${JSON.stringify(listen)}`,
    `bootstrap_peers = ${JSON.stringify(extra.bootstrap ?? [])}`,
    '',
    '[network.relay]',
    ...keys(extra.relay),
    '',
    '[network.transport]',
    'dial_timeout = "5s"',
    '',
    '[network.dht]',
    ...keys(extra.dht),
    '',
    '[network.nat]',
    // loopback peers never need a relay reservation; "auto" makes the relay transport's
    // discovery random-walk the DHT, which spins forever on a two-node network (see docs)
    `reachability = ${JSON.stringify(extra.nat?.reachability ?? process.env.BENCH_REACHABILITY ?? 'public')}`,
    ...keys(Object.fromEntries(Object.entries(extra.nat ?? {}).filter(([k]) => k !== 'reachability'))),
    '',
    '[security]',
    'mode = "mtls"',
    `cert = ${JSON.stringify(files.cert)}`,
    `key = ${JSON.stringify(files.key)}`,
    `trust = ${JSON.stringify(files.trust)}`,
    `crl = ${JSON.stringify(files.crl ?? [])}`,
    '',
    '[metrics]',
    'enabled = false',
  ].join('\n')
  return parseConfig(toml, {}, networkConfigSchema, 'bench.toml')
}

/** Starts a real Hypha node (createNode) for one identity of the dev PKI. */
export async function startNode(files, role, listen, options = {}) {
  const { config: extra, ...nodeOptions } = options
  const identity = await NodeIdentity.load(files, { log: quiet })
  const node = await createNode(benchConfig(files, listen, extra), identity, role, { inboundConnectionThreshold: 10_000, ...nodeOptions })
  return {
    node,
    identity,
    async stop() {
      await node.stop()
      identity.close()
    },
  }
}

/**
 * The comparison nodes, plain createLibp2p() over TCP with nothing but a transport, an
 * encrypter and a muxer (no Hypha services):
 *   stock            TCP + noise + @chainsafe/libp2p-yamux, default options: js-libp2p as its
 *                    docs set it up, the peer issue 12 compares against
 *   mtls-libp2p-yamux TCP + the Hypha mtls encrypter + @libp2p/yamux 8.0.3 (default options):
 *                    the same stack as a Hypha node's TCP, with the other yamux
 */
export const VARIANTS = ['stock', 'mtls-libp2p-yamux']

export async function startVariantNode(variant, files) {
  let identity
  let options
  if (variant === 'stock') {
    options = { connectionEncrypters: [noise()], streamMuxers: [chainsafeYamux()] }
  } else if (variant === 'mtls-libp2p-yamux') {
    identity = await NodeIdentity.load(files, { log: quiet })
    options = { privateKey: identity.privateKey, connectionEncrypters: [mtlsEncrypter(identity)], streamMuxers: [libp2pYamux()] }
  } else {
    throw new Error(`unknown variant ${variant}`)
  }
  const node = await createLibp2p({ addresses: { listen: LISTEN.tcp }, transports: [tcp()], ...options })
  return {
    node,
    async stop() {
      await node.stop()
      identity?.close()
    },
  }
}

export function addressOf(node, transport) {
  const name = transport === 'quic' ? 'quic-v1' : 'tcp'
  const address = node.getMultiaddrs().find((a) => a.getComponents().some((c) => c.name === name))
  if (address === undefined) throw new Error(`no ${transport} address`)
  return address.toString()
}

// ---- process hygiene: temp dirs and children are removed on every way out ----

const children = new Set()
const tempDirs = new Set()

function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
}

process.on('exit', () => {
  killChildren()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(130))
}

export async function makePki(names) {
  const dir = await mkdtemp(join(tmpdir(), 'hypha-bench-'))
  tempDirs.add(dir)
  const pki = await writeDevPki({ dir, organisation: 'bench', nodes: names })
  return { dir, pki }
}

export async function removeDir(dir) {
  await rm(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/**
 * Forks `script` with an IPC channel and resolves with its first {type: 'ready'} message.
 * The child exits when the channel closes (see peer.mjs), so it cannot outlive us.
 */
export function forkChild(script, init, execArgv = process.execArgv, readyTimeoutMs = 30_000) {
  // the far side runs with the V8 flags a service's launcher gives it, so its memory and speed are a node's
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...NODE_RUNTIME_FLAGS, ...execArgv] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs)
    child.once('error', reject)
    child.once('exit', (code, signal) => reject(new Error(`${script} exited early (${code ?? signal})`)))
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer)
        resolve({ child, info: message })
      } else if (message?.type === 'error') {
        clearTimeout(timer)
        reject(new Error(`${script}: ${message.message}`))
      }
    })
    child.send({ type: 'init', ...init })
  })
}

/** Asks a child to stop its node and waits for it to exit (SIGKILL after 5 s). */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  if (child.connected) child.send({ type: 'stop' })
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

/** Runs `count` jobs on `concurrency` loops (`job(i)` for i = 0..count-1); returns their results in order. */
export async function concurrently(count, concurrency, job) {
  const results = new Array(count)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++
        results[i] = await job(i)
      }
    }),
  )
  return results
}

// ---- stats ----

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}
export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
export const round = (x, digits = 2) => +x.toFixed(digits)

// ---- wire formats shared by both ends ----

export const SINK_PROTOCOL = '/hypha-bench/sink/1.0.0'
export const HEADER_BYTES = 8

/** 8-byte big-endian unsigned length: the sink's header (bytes to follow) and its ack (bytes received). */
export function encodeLength(n) {
  const out = new Uint8Array(HEADER_BYTES)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}
export function decodeLength(bytes) {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getBigUint64(0))
}

/**
 * Counts a byte stream that starts with an 8-byte length header. `onChunk(chunk)` accepts
 * Uint8Array or Uint8ArrayList; returns the payload byte count once complete, else undefined.
 */
export function lengthCounter() {
  const header = new Uint8Array(HEADER_BYTES)
  let headerFilled = 0
  let expected
  let received = 0
  return (chunk) => {
    let length = chunk.byteLength
    if (headerFilled < HEADER_BYTES) {
      const take = Math.min(HEADER_BYTES - headerFilled, length)
      header.set(chunk.subarray(0, take), headerFilled)
      headerFilled += take
      length -= take
      if (headerFilled === HEADER_BYTES) expected = decodeLength(header)
    }
    received += length
    return expected !== undefined && received >= expected ? received : undefined
  }
}

/** The child's CPU time so far (user + system, microseconds), over IPC. */
export function childCpu(child) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message?.type !== 'cpu') return
      child.off('message', onMessage)
      resolve(message.user + message.system)
    }
    child.on('message', onMessage)
    child.send({ type: 'cpu' })
  })
}

/** What a stall dump shows of a libp2p stream: its statuses and buffers. */
export function streamState(stream) {
  return {
    id: stream.id,
    protocol: stream.protocol,
    status: stream.status,
    readStatus: stream.readStatus,
    writeStatus: stream.writeStatus,
    remoteReadStatus: stream.remoteReadStatus,
    remoteWriteStatus: stream.remoteWriteStatus,
    writableNeedsDrain: stream.writableNeedsDrain,
    sendingData: stream.sendingData,
    readBuffer: stream.readBufferLength,
    writeBuffer: stream.writeBufferLength,
    readableEnded: stream.readableEnded,
  }
}
