// A paused stream must hold its sender back, on both multiplexers (regressions of the two patches
// the bulk protocol's bounded memory rests on; see docs/network-core.md, "Patched libraries"):
// - @libp2p/utils: a 'message' listener that pauses the stream while resume() hands it the
//   buffered data must leave it paused (resume() used to tell yamux to go on regardless);
// - @chainsafe/libp2p-quic: pause() must stop reading from QUIC (it was a no-op, so a paused
//   stream's buffer grew until libp2p reset the stream).
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { HyphaNode } from '../src/node/hypha-node.js'
import { addressOf, useTestNetwork, waitFor } from '../src/testing/test-network.js'

const PROTOCOL = '/hypha-test/pause/1.0.0'
const net = useTestNetwork(4)

/** A connected pair over `transport` and a stream from a to b, with b's end handed over. */
async function streamPair(transport: 'tcp' | 'quic'): Promise<{ sender: Stream; receiver: Stream; a: HyphaNode; b: HyphaNode }> {
  const [a, b] = [await net().start({ transports: transport }), await net().start({ transports: transport })]
  const inbound = Promise.withResolvers<Stream>()
  await b.libp2p.handle(PROTOCOL, (stream) => {
    // paused before any data is read: the test decides when bytes may flow
    stream.pause()
    inbound.resolve(stream)
  })
  const connection = await a.dial(multiaddr(addressOf(b, transport)))
  await a.libp2p.services.mtlsAdmission?.waitForAdmission(connection)
  const sender = await connection.newStream(PROTOCOL)
  // the first byte opens the stream at b; its write completes before the test's own writes
  if (!sender.send(new Uint8Array(1))) await sender.onDrain()
  return { sender, receiver: await inbound.promise, a, b }
}

/** Bytes the receiver takes in from now on (a 'message' listener). */
function counted(stream: Stream): { bytes: number } {
  const seen = { bytes: 0 }
  stream.addEventListener('message', (event) => {
    seen.bytes += event.data.byteLength
  })
  return seen
}

/**
 * Resolves once the paused receiver's buffer has stopped growing (its sender is held back), and
 * rejects if the receiver's stream was reset instead, or the sender got every byte out.
 */
async function senderHeldBack(receiver: Stream, senderDone: () => boolean): Promise<void> {
  let last = -1
  let steady = 0
  await waitFor(() => {
    if (receiver.status !== 'open') throw new Error(`the paused stream was ${receiver.status} (read buffer ${receiver.readBufferLength})`)
    if (senderDone()) throw new Error('the paused receiver let every byte through')
    steady = receiver.readBufferLength === last ? steady + 1 : 0
    last = receiver.readBufferLength
    return steady >= 8
  }, 'the paused receiver to hold its sender back', 10_000)
}

/** True once the sender has handed every queued byte to its transport ('idle' on yamux, 'drain' on QUIC). */
function sentAll(sender: Stream, event: 'idle' | 'drain'): () => boolean {
  let done = false
  sender.addEventListener(event, () => {
    done = true
  })
  return () => done
}

const PAYLOAD = 32 * 1024 * 1024

it('yamux: a stream paused again by its listener while resume() delivers stays paused', async () => {
  const { sender, receiver } = await streamPair('tcp')
  const done = sentAll(sender, 'idle')
  sender.send(new Uint8Array(PAYLOAD))
  await waitFor(() => receiver.readBufferLength > 0, 'data buffered at the paused receiver')
  let delivered = 0
  receiver.addEventListener('message', (event) => {
    delivered += event.data.byteLength
    receiver.pause()
  })
  receiver.resume()
  expect(receiver.readStatus).toBe('paused')
  await senderHeldBack(receiver, done)
  // what is buffered is at most the yamux window, not the 32 MiB queued
  expect(receiver.readBufferLength).toBeLessThanOrEqual(16 * 1024 * 1024)

  // paused again after each delivery: every byte still arrives, one window at a time
  while (delivered < PAYLOAD + 1) {
    const before = delivered
    receiver.resume()
    await waitFor(() => delivered > before, 'the next window')
  }
  expect(receiver.status).toBe('open')
})

it('QUIC: a paused stream stops reading, so QUIC flow control holds the sender back', async () => {
  const { sender, receiver } = await streamPair('quic')
  const done = sentAll(sender, 'drain')
  sender.send(new Uint8Array(PAYLOAD))
  await senderHeldBack(receiver, done)
  // at most the read that was under way when the stream paused, not libp2p's 4 MiB reset limit
  expect(receiver.readBufferLength).toBeLessThan(1024 * 1024)

  const seen = counted(receiver)
  receiver.resume()
  await waitFor(() => seen.bytes >= PAYLOAD + 1, 'all 32 MiB after the resume')
  expect(receiver.status).toBe('open')
})
