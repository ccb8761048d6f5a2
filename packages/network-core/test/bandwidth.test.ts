// Per-connection bandwidth limits (network.limits.bandwidth_in / bandwidth_out) on real mTLS
// nodes over TCP: 1 MiB through a sink protocol takes about (1 MiB - 1 s burst) / rate with
// a limit on the sender (outbound) or on the receiver (inbound), arrives complete and intact,
// and is much faster without a limit. Plus the token bucket and the QUIC startup warning.
import { createHash, randomBytes } from 'node:crypto'
import type { Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { TokenBucket, quicBandwidthWarning } from '../src/connection/bandwidth/index.js'
import type { HyphaNode } from '../src/node/hypha-node.js'
import { useTestNetwork, addressOf } from '../src/testing/test-network.js'

const SINK = '/test/bandwidth-sink/1.0.0'
const SIZE = 2 ** 20
const CHUNK = 64 * 1024
const LIMIT = '256KiB'
// a plain Uint8Array of this (jest vm) realm rather than node:crypto's Buffer
const payload = Uint8Array.from(randomBytes(SIZE))
const payloadHash = createHash('sha256').update(payload).digest('hex')

const net = useTestNetwork(8)

interface Received {
  bytes: number
  sha256: string
  at: number
}

/** Handles SINK on `node`; `received` resolves with what the first stream delivered once it
 *  ends (wrapped in an object: an async function returning a promise would wait for it). */
async function sink(node: HyphaNode): Promise<{ received: Promise<Received> }> {
  const { promise, resolve, reject } = Promise.withResolvers<Received>()
  await node.libp2p.handle(SINK, async (stream: Stream) => {
    try {
      const bytes = byteStream(stream)
      const hash = createHash('sha256')
      let total = 0
      for (;;) {
        const chunk = await bytes.read()
        if (chunk === null) break
        hash.update(chunk.subarray())
        total += chunk.byteLength
      }
      resolve({ bytes: total, sha256: hash.digest('hex'), at: performance.now() })
      await stream.close()
    } catch (err) {
      reject(err)
    }
  })
  return { received: promise }
}

/** Sends the payload from `sender` to `receiver`'s sink over TCP; returns the elapsed ms. */
async function transfer(sender: HyphaNode, receiver: HyphaNode): Promise<number> {
  const { received } = await sink(receiver)
  await sender.dial(multiaddr(addressOf(receiver, 'tcp')))
  const stream = await sender.libp2p.dialProtocol(receiver.peerId, SINK)
  const start = performance.now()
  for (let offset = 0; offset < SIZE; offset += CHUNK) {
    if (!stream.send(payload.subarray(offset, offset + CHUNK))) await stream.onDrain()
  }
  await stream.close()
  const result = await received
  expect(result.bytes).toBe(SIZE)
  expect(result.sha256).toBe(payloadHash)
  return result.at - start
}

describe('bandwidth limits over TCP', () => {
  let unlimitedMs = Number.POSITIVE_INFINITY

  it('moves 1 MiB quickly without a limit', async () => {
    const a = await net().start({ transports: 'tcp' })
    const b = await net().start({ transports: 'tcp' })
    unlimitedMs = await transfer(a, b)
    // (1 MiB - 256 KiB burst) / 256 KiB/s = 3 s with the limit; a third of the 2.5 s floor
    expect(unlimitedMs).toBeLessThan(2_500 / 3)
  })

  it('limits what the sender sends (bandwidth_out)', async () => {
    const a = await net().start({ transports: 'tcp', toml: { 'network.limits': { bandwidth_out: LIMIT } } })
    const b = await net().start({ transports: 'tcp' })
    const elapsed = await transfer(a, b)
    expect(elapsed).toBeGreaterThanOrEqual(2_500)
    expect(elapsed).toBeLessThan(6_000)
    expect(unlimitedMs).toBeLessThan(elapsed / 3)
  })

  it('limits what the receiver accepts (bandwidth_in)', async () => {
    const a = await net().start({ transports: 'tcp' })
    const b = await net().start({ transports: 'tcp', toml: { 'network.limits': { bandwidth_in: LIMIT } } })
    const elapsed = await transfer(a, b)
    expect(elapsed).toBeGreaterThanOrEqual(2_500)
    expect(elapsed).toBeLessThan(6_000)
    expect(unlimitedMs).toBeLessThan(elapsed / 3)
  })
})

describe('TokenBucket', () => {
  it('starts full, grants partially and refills at the rate up to the burst', () => {
    let now = 0
    const bucket = new TokenBucket(1000, 500, () => now)
    expect(bucket.take(800)).toBe(500)
    expect(bucket.take(1)).toBe(0)
    expect(bucket.msUntil(100)).toBe(100)
    now = 100
    expect(bucket.take(1000)).toBe(100)
    now = 10_000
    expect(bucket.available).toBe(500)
    expect(bucket.msUntil(10_000)).toBe(0)
  })

  it('refuses a rate that is not positive', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError)
  })
})

describe('QUIC', () => {
  it('warns that QUIC connections are not limited when QUIC is enabled with a limit', () => {
    const limited = { toml: { 'network.limits': { bandwidth_out: LIMIT } } }
    expect(quicBandwidthWarning(net().config('node-0', { ...limited, transports: 'both' }))).toMatch(/QUIC connections are not limited/)
    expect(quicBandwidthWarning(net().config('node-0', { transports: 'both' }))).toBeUndefined()
    const tcpOnly = net().config('node-0', { toml: { ...limited.toml, 'network.transport': { quic_enabled: false } } })
    expect(quicBandwidthWarning(tcpOnly)).toBeUndefined()
  })
})
