// Integration tests of request/response between real libp2p nodes on loopback (TCP, noise,
// yamux, and a circuit relay for the limited-connection case). No fixed sleeps: events and polls.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { z } from 'zod'
import {
  defineProtocol,
  type RequestCompleteDetail,
  type RequestRefusedDetail,
  type RequestResponse,
  type RequestResponseInit,
  requestResponse,
} from '../../src/messaging/request-response/index.js'
import { waitFor as waitUntil } from '../../src/testing/test-network.js'
import { listenAddress, loopbackNode } from './loopback-node.js'
import { decodeRequest, decodeResponse, decodeSessionFrameHead, encodeError, encodeSessionFrame } from '../../src/messaging/request-response/codec.js'
import { FrameReader, lengthPrefixed } from '../../src/messaging/frames.js'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  InvalidRequestError,
  MessageTooLargeError,
  ProtocolNotSupportedError,
  RemoteBusyError,
  RemoteHandlerError,
  RequestTimeoutError,
} from '../../src/messaging/request-response/errors.js'

const MAX_BYTES = 16 * 1024

const Echo = defineProtocol('/hypha-test/echo/1.0.0', {
  request: z.object({ text: z.string(), n: z.number().int().min(0).optional() }),
  response: z.object({ text: z.string(), n: z.number().optional() }),
})

const Wait = defineProtocol('/hypha-test/wait/1.0.0', {
  request: z.object({ id: z.number() }),
  response: z.object({ id: z.number() }),
})

type Node = Libp2p<{ rr: RequestResponse }>
let nodes: Libp2p[] = []

async function node(init: Partial<RequestResponseInit> = {}): Promise<Node> {
  const created = await loopbackNode({
    identify: identify(),
    rr: requestResponse({ maxMessageBytes: MAX_BYTES, defaultTimeoutMs: 5_000, ...init }),
  })
  nodes.push(created)
  return created
}

const addr = listenAddress

/**
 * Dials so that later requests can address the peer by id alone, and waits until the remote has
 * its side of the connection too: yamux kills the whole connection (MaxEarlyStreamsError) if more
 * than 10 streams arrive before the inbound side has finished setting the connection up.
 */
async function connect(from: Libp2p, to: Libp2p): Promise<PeerId> {
  await from.dial(addr(to))
  await waitFor(() => to.getConnections(from.peerId).length > 0, 'the inbound side of the connection')
  return to.peerId
}

function events(target: Node): { complete: RequestCompleteDetail[]; refused: RequestRefusedDetail[] } {
  const complete: RequestCompleteDetail[] = []
  const refused: RequestRefusedDetail[] = []
  target.services.rr.addEventListener('request:complete', (evt) => complete.push(evt.detail))
  target.services.rr.addEventListener('request:refused', (evt) => refused.push(evt.detail))
  return { complete, refused }
}

function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return waitUntil(condition, what, timeoutMs)
}

/** Resolves when the signal aborts; lets a test see the handler's signal without sleeping. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  nodes = []
})

describe('request/response between libp2p nodes', () => {
  it('round-trips a typed request addressed by multiaddr and emits ok on both sides', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverEvents = events(server)
    const clientEvents = events(client)
    await server.services.rr.handle(Echo.id, Echo, ({ text, n }, { peer }) => {
      expect(peer.equals(client.peerId)).toBe(true)
      return { text: text.toUpperCase(), n }
    })

    await expect(client.services.rr.request(addr(server), Echo.id, Echo, { text: 'hello', n: 1 })).resolves.toEqual({ text: 'HELLO', n: 1 })

    expect(clientEvents.complete).toEqual([expect.objectContaining({ protocol: Echo.id, side: 'client', outcome: 'ok' })])
    expect(clientEvents.complete[0]?.peer?.equals(server.peerId)).toBe(true)
    await waitFor(() => serverEvents.complete.length === 1, 'the server event')
    expect(serverEvents.complete[0]).toMatchObject({ protocol: Echo.id, side: 'server', outcome: 'ok' })
    expect(serverEvents.complete[0]?.peer?.equals(client.peerId)).toBe(true)
  })

  it('serves many concurrent requests from two clients', async () => {
    const [server, a, b] = await Promise.all([node(), node(), node()])
    await server.services.rr.handle(
      Echo.id,
      Echo,
      async ({ text, n }) => {
        // Yield so handlers genuinely overlap instead of finishing in stream-open order.
        await new Promise((resolve) => setImmediate(resolve))
        return { text, n }
      },
      { maxConcurrent: 500 },
    )
    const peer = server.peerId
    await Promise.all([connect(a, server), connect(b, server)])

    const requests = [a, b].flatMap((client, c) =>
      Array.from({ length: 100 }, (_, i) => client.services.rr.request(peer, Echo.id, Echo, { text: `${c}-${i}`, n: i })),
    )
    const responses = await Promise.all(requests)
    expect(responses).toHaveLength(200)
    responses.forEach((response, k) => {
      expect(response).toEqual({ text: `${Math.floor(k / 100)}-${k % 100}`, n: k % 100 })
    })
  })

  it('times out at the caller promptly and aborts the server handler signal', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const clientEvents = events(client)
    const handlerSignal = Promise.withResolvers<AbortSignal>()
    await server.services.rr.handle(Wait.id, Wait, async (req, { signal }) => {
      handlerSignal.resolve(signal)
      await aborted(signal)
      return req
    })
    const peer = await connect(client, server)

    const started = Date.now()
    const error = await client.services.rr.request(peer, Wait.id, Wait, { id: 1 }, { timeoutMs: 300 }).catch((err: unknown) => err)
    const elapsed = Date.now() - started
    expect(error).toBeInstanceOf(RequestTimeoutError)
    expect(error).toMatchObject({ name: 'RequestTimeoutError', remote: false })
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(1_500)
    // The client resets the stream on timeout; the server handler must learn of it.
    await aborted(await handlerSignal.promise)
    expect(clientEvents.complete).toEqual([expect.objectContaining({ outcome: 'timeout', side: 'client' })])
  })

  it('times out at the server and tells the caller', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverEvents = events(server)
    let handlerSignal: AbortSignal | undefined
    await server.services.rr.handle(
      Wait.id,
      Wait,
      async (req, { signal }) => {
        handlerSignal = signal
        await aborted(signal)
        return req
      },
      { timeoutMs: 200 },
    )
    const peer = await connect(client, server)

    await expect(client.services.rr.request(peer, Wait.id, Wait, { id: 1 }, { timeoutMs: 5_000 })).rejects.toMatchObject({
      name: 'RequestTimeoutError',
      remote: true,
    })
    expect(handlerSignal?.aborted).toBe(true)
    await waitFor(() => serverEvents.complete.length === 1, 'the server event')
    expect(serverEvents.complete[0]?.outcome).toBe('timeout')
  })

  it('refuses an oversized request locally, before any connection exists', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const clientEvents = events(client)
    await server.services.rr.handle(Echo.id, Echo, (req) => req)

    const error = await client.services.rr
      .request(addr(server), Echo.id, Echo, { text: 'x'.repeat(MAX_BYTES) })
      .catch((err: unknown) => err)
    expect(error).toBeInstanceOf(MessageTooLargeError)
    expect(error).toMatchObject({ limit: MAX_BYTES })
    expect(client.getConnections()).toHaveLength(0)
    expect(clientEvents.refused).toEqual([expect.objectContaining({ side: 'client', reason: 'too-large' })])
    expect(clientEvents.complete).toEqual([expect.objectContaining({ side: 'client', outcome: 'too-large' })])
  })

  it('answers a raw frame that declares an oversized length with too-large, and keeps serving', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverEvents = events(server)
    await server.services.rr.handle(Echo.id, Echo, (req) => req)
    const peer = await connect(client, server)

    // A misbehaving client: a length prefix far above the limit, then a little of the body.
    const stream = await client.dialProtocol(peer, Echo.id)
    const raw = lpStream(stream)
    const prefix = new Uint8Array([0x80, 0x80, 0x40]) // varint 1_048_576
    stream.send(prefix)
    stream.send(new Uint8Array(1024))
    const reply = decodeResponse((await raw.read({ signal: AbortSignal.timeout(5_000) })).subarray())
    expect(reply).toMatchObject({ ok: true, value: { ok: false, error: { code: 'too-large' } } })

    await waitFor(() => serverEvents.complete.length === 1, 'the server event')
    expect(serverEvents.complete[0]?.outcome).toBe('too-large')
    expect(serverEvents.refused).toEqual([expect.objectContaining({ side: 'server', reason: 'too-large' })])
    // The stream is refused, the node and the connection are not.
    await waitFor(() => stream.status !== 'open', 'the refused stream to end')
    await expect(client.services.rr.request(peer, Echo.id, Echo, { text: 'still there' })).resolves.toEqual({ text: 'still there' })
  })

  it('survives a client that streams a real oversized frame', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverEvents = events(server)
    await server.services.rr.handle(Echo.id, Echo, (req) => req)
    const peer = await connect(client, server)

    const stream = await client.dialProtocol(peer, Echo.id)
    const raw = lpStream(stream)
    // 1 MiB for a 16 KiB limit: the server must neither buffer it all nor fall over.
    const write = raw.write(new Uint8Array(1024 * 1024), { signal: AbortSignal.timeout(5_000) }).catch((err: unknown) => err)
    const reply = await raw.read({ signal: AbortSignal.timeout(5_000) }).then(
      (frame) => decodeResponse(frame.subarray()),
      (err: unknown) => err,
    )
    await write
    // Whether the reply beats the reset depends on how much arrived in one read; either is a refusal.
    if (reply instanceof Error) expect(stream.status).not.toBe('open')
    else expect(reply).toMatchObject({ ok: true, value: { ok: false, error: { code: 'too-large' } } })

    await waitFor(() => serverEvents.complete.length === 1, 'the server event')
    expect(serverEvents.complete[0]?.outcome).toBe('too-large')
    await expect(client.services.rr.request(peer, Echo.id, Echo, { text: 'next' })).resolves.toEqual({ text: 'next' })
  })

  it('answers 300 random and mutated frames from an admitted peer with clear refusals, and keeps serving', async () => {
    const [server, client] = await Promise.all([node(), node()])
    await server.services.rr.handle(Echo.id, Echo, (req) => req)
    const peer = await connect(client, server)
    const valid = new TextEncoder().encode(JSON.stringify({ v: 1, body: { text: 'hello', n: 1 } }))
    const heapBefore = process.memoryUsage().heapUsed
    const codes = new Map<string, number>()
    for (let i = 0; i < 300; i++) {
      // a third random bytes, a third a valid frame with bytes flipped, a third valid JSON of the wrong shape
      let frame: Uint8Array
      if (i % 3 === 0) frame = crypto.getRandomValues(new Uint8Array(1 + (i % 200)))
      else if (i % 3 === 1) {
        frame = Uint8Array.from(valid)
        for (let f = 0; f < 1 + (i % 5); f++) frame[(i * 31 + f * 7) % frame.length] = (i * 13 + f) % 256
      } else frame = new TextEncoder().encode(JSON.stringify({ v: 1, body: { text: i, extra: [i] } }))
      const stream = await client.dialProtocol(peer, Echo.id)
      const raw = lpStream(stream)
      await raw.write(frame, { signal: AbortSignal.timeout(5_000) })
      const reply = decodeResponse((await raw.read({ signal: AbortSignal.timeout(5_000) })).subarray())
      const code = reply.ok ? (reply.value.ok ? 'ok' : reply.value.error.code) : `undecodable: ${reply.reason}`
      codes.set(code, (codes.get(code) ?? 0) + 1)
      await stream.close().catch(() => undefined)
    }
    // every frame got an answer: refused as invalid or of an unsupported version, or (a flip that
    // kept the JSON valid and within the schema) answered
    expect([...codes.keys()].every((c) => ['invalid-request', 'unsupported-version', 'ok'].includes(c))).toBe(true)
    expect(codes.get('invalid-request') ?? 0).toBeGreaterThan(200)
    await expect(client.services.rr.request(peer, Echo.id, Echo, { text: 'still serving' })).resolves.toEqual({ text: 'still serving' })
    expect(server.status).toBe('started')
    // nothing of 300 refused exchanges stays behind (a loose bound: the heap is shared with jest)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024)
  })

  it('refuses requests above maxConcurrent with RemoteBusyError instead of queueing them', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverEvents = events(server)
    const gate = Promise.withResolvers<void>()
    let running = 0
    let maxRunning = 0
    await server.services.rr.handle(
      Wait.id,
      Wait,
      async (req) => {
        running++
        maxRunning = Math.max(maxRunning, running)
        await gate.promise
        running--
        return req
      },
      { maxConcurrent: 2 },
    )
    const peer = await connect(client, server)

    const settled: Array<PromiseSettledResult<{ id: number }>> = []
    const requests = Array.from({ length: 5 }, (_, id) =>
      client.services.rr.request(peer, Wait.id, Wait, { id }).then(
        (value) => {
          settled.push({ status: 'fulfilled', value })
        },
        (reason: unknown) => {
          settled.push({ status: 'rejected', reason })
        },
      ),
    )
    // The three refusals arrive while the two admitted handlers are still held at the gate.
    // (An admitted request holds its slot from stream open; its handler starts once the body is read.)
    await waitFor(() => settled.length === 3 && running === 2, 'three refusals and two running handlers')
    gate.resolve()
    await Promise.all(requests)

    const busy = settled.filter((r) => r.status === 'rejected')
    const ok = settled.filter((r) => r.status === 'fulfilled')
    expect(busy).toHaveLength(3)
    for (const r of busy) expect(r.reason).toBeInstanceOf(RemoteBusyError)
    expect(ok).toHaveLength(2)
    expect(maxRunning).toBe(2)
    expect(serverEvents.refused.filter((e) => e.reason === 'busy')).toHaveLength(3)
    await waitFor(() => serverEvents.complete.length === 5, 'five server events')
    expect(serverEvents.complete.map((e) => e.outcome).sort()).toEqual(['busy', 'busy', 'busy', 'ok', 'ok'])
    // Slots are released: the protocol serves again.
    await expect(client.services.rr.request(peer, Wait.id, Wait, { id: 9 })).resolves.toEqual({ id: 9 })
  })

  it('delivers handler errors with their code and message', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const clientEvents = events(client)
    await server.services.rr.handle(Echo.id, Echo, async ({ text }) => {
      if (text === 'coded') throw Object.assign(new Error('no such job'), { code: 'not-found' })
      throw new Error('plain failure')
    })
    const peer = await connect(client, server)

    const coded = await client.services.rr.request(peer, Echo.id, Echo, { text: 'coded' }).catch((err: unknown) => err)
    expect(coded).toBeInstanceOf(RemoteHandlerError)
    expect(coded).toMatchObject({ name: 'RemoteHandlerError', code: 'not-found', remoteMessage: 'no such job' })
    await expect(client.services.rr.request(peer, Echo.id, Echo, { text: 'plain' })).rejects.toMatchObject({
      name: 'RemoteHandlerError',
      code: 'handler-error',
      remoteMessage: 'plain failure',
    })
    expect(clientEvents.complete.map((e) => e.outcome)).toEqual(['handler-error', 'handler-error'])
  })

  it('refuses a request that fails the server schema without calling the handler', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverEvents = events(server)
    let calls = 0
    await server.services.rr.handle(Echo.id, Echo, (req) => {
      calls++
      return req
    })
    const peer = await connect(client, server)
    // An older or looser client: its schema accepts what the server's does not (n must be >= 0).
    const Loose = defineProtocol(Echo.id, { request: z.object({ text: z.string(), n: z.number() }), response: Echo.response })

    const error = await client.services.rr.request(peer, Loose.id, Loose, { text: 'x', n: -1 }).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect(error).toMatchObject({ name: 'InvalidRequestError', remote: true })
    expect((error as Error).message).toContain('n:')
    expect(calls).toBe(0)
    await waitFor(() => serverEvents.complete.length === 1, 'the server event')
    expect(serverEvents.complete[0]?.outcome).toBe('invalid')
    expect(serverEvents.refused).toEqual([expect.objectContaining({ reason: 'invalid', side: 'server' })])
  })

  it('reports a protocol the remote does not serve as ProtocolNotSupportedError', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const peer = await connect(client, server)
    const error = await client.services.rr.request(peer, Echo.id, Echo, { text: 'x' }).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(ProtocolNotSupportedError)
    expect(error).toMatchObject({ name: 'ProtocolNotSupportedError', protocol: Echo.id })
  })

  it('works over a limited (relayed) connection', async () => {
    const relayNode = await loopbackNode({ identify: identify(), relay: circuitRelayServer() })
    nodes.push(relayNode)
    const relayed = async (listen: string[]): Promise<Node> => {
      const created = await createLibp2p({
        addresses: { listen },
        transports: [tcp(), circuitRelayTransport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionGater: { denyDialMultiaddr: () => false },
        services: { identify: identify(), rr: requestResponse({ maxMessageBytes: MAX_BYTES }) },
      })
      nodes.push(created)
      return created
    }
    // The server listens only through the relay, so the client has no direct address to use.
    const server = await relayed(['/p2p-circuit'])
    const client = await relayed([])
    await server.services.rr.handle(Echo.id, Echo, (req) => req)
    await server.dial(addr(relayNode))
    const circuit = (): Multiaddr | undefined => server.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit'))
    await waitFor(() => circuit() != null, 'a relay reservation', 10_000)
    const target = circuit()
    if (target == null) throw new Error('unreachable')

    await expect(client.services.rr.request(target, Echo.id, Echo, { text: 'via relay' })).resolves.toEqual({ text: 'via relay' })
    const connections = client.getConnections(server.peerId)
    expect(connections.length).toBeGreaterThan(0)
    expect(connections.every((c) => c.limits != null)).toBe(true)
  })
})

/** The client's open streams of `protocol` to `peer`, on every connection. */
function streamsOf(client: Libp2p, peer: PeerId, protocol: string): Array<{ id: string; abort(err: Error): void; status: string }> {
  return client
    .getConnections(peer)
    .flatMap((c) => c.streams)
    .filter((s) => s.protocol === protocol && s.direction === 'outbound' && s.status === 'open')
}

/** A server that speaks only v1 (one request per stream), as nodes before sessions did. */
async function v1OnlyServer(server: Libp2p, protocol: string): Promise<{ openings: number; exchanges: number }> {
  const seen = { openings: 0, exchanges: 0 }
  await server.handle(protocol, async (stream) => {
    const lp = lpStream(stream)
    const decoded = decodeRequest((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray())
    if (!decoded.ok) {
      seen.openings++
      await lp.write(encodeError(decoded.reason === 'unsupported-version' ? 'unsupported-version' : 'invalid-request', decoded.detail))
    } else {
      seen.exchanges++
      await lp.write(new TextEncoder().encode(JSON.stringify({ v: 1, ok: true, body: decoded.value })))
    }
    await stream.close()
  })
  return seen
}

describe('request/response sessions', () => {
  it('carries sequential and concurrent requests on one stream per peer and protocol, answered in any order', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const release = new Map<number, () => void>()
    await server.services.rr.handle(Wait.id, Wait, async ({ id }) => {
      if (id >= 100) await new Promise<void>((resolve) => release.set(id, resolve))
      return { id }
    }, { maxConcurrent: 64 })
    const peer = await connect(client, server)

    for (let i = 0; i < 20; i++) await expect(client.services.rr.request(peer, Wait.id, Wait, { id: i })).resolves.toEqual({ id: i })
    // 32 held requests, released newest first: each answer must still reach its own caller.
    const held = Array.from({ length: 32 }, (_, i) => client.services.rr.request(peer, Wait.id, Wait, { id: 100 + i }))
    await waitFor(() => release.size === 32, 'all held requests to reach the handler')
    for (const id of [...release.keys()].sort((a, b) => b - a)) release.get(id)?.()
    await expect(Promise.all(held)).resolves.toEqual(Array.from({ length: 32 }, (_, i) => ({ id: 100 + i })))
    expect(streamsOf(client, peer, Wait.id)).toHaveLength(1)
  })

  it('opens a new session after the old stream fails, and fails only what was in flight on it', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const gate = Promise.withResolvers<void>()
    let holding = false
    await server.services.rr.handle(Wait.id, Wait, async ({ id }) => {
      if (id === 1) {
        holding = true
        await gate.promise
      }
      return { id }
    })
    const peer = await connect(client, server)
    await expect(client.services.rr.request(peer, Wait.id, Wait, { id: 0 })).resolves.toEqual({ id: 0 })
    const inFlight = client.services.rr.request(peer, Wait.id, Wait, { id: 1 }).catch((err: unknown) => err)
    await waitFor(() => holding, 'the request to reach the handler')
    const [first] = streamsOf(client, peer, Wait.id)
    if (first === undefined) throw new Error('no session stream')
    first.abort(new Error('broken on purpose'))
    expect(await inFlight).toMatchObject({ message: expect.stringContaining('broken on purpose') })
    gate.resolve()

    await expect(client.services.rr.request(peer, Wait.id, Wait, { id: 2 })).resolves.toEqual({ id: 2 })
    const [second] = streamsOf(client, peer, Wait.id)
    expect(second?.id).not.toBe(first.id)
  })

  it('falls back to a stream per request for a peer that speaks only v1, asking once', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const seen = await v1OnlyServer(server, Echo.id)
    const peer = await connect(client, server)
    for (const text of ['a', 'b', 'c']) await expect(client.services.rr.request(peer, Echo.id, Echo, { text })).resolves.toEqual({ text })
    expect(seen).toEqual({ openings: 1, exchanges: 3 })
  })

  it('serves a client that uses one stream per request (sessions: false)', async () => {
    const [server, client] = await Promise.all([node(), node({ sessions: false })])
    const serverEvents = events(server)
    await server.services.rr.handle(Echo.id, Echo, (req) => req)
    const peer = await connect(client, server)
    const answers = await Promise.all(Array.from({ length: 8 }, (_, n) => client.services.rr.request(peer, Echo.id, Echo, { text: 'x', n })))
    expect(answers.map((a) => a.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    await waitFor(() => serverEvents.complete.length === 8, 'the server events')
    expect(serverEvents.complete.every((e) => e.outcome === 'ok')).toBe(true)
  })

  it('answers an oversized frame inside a session with too-large for its id, and keeps the session', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverEvents = events(server)
    await server.services.rr.handle(Echo.id, Echo, (req) => req)
    const peer = await connect(client, server)
    const stream = await client.dialProtocol(peer, Echo.id)
    const answers: Array<{ kind: number; id: number; body: string }> = []
    const reader = new FrameReader(MAX_BYTES + 16, {
      frame: (payload) => {
        const head = decodeSessionFrameHead(payload)
        answers.push({ kind: head?.kind ?? -1, id: head?.id ?? -1, body: new TextDecoder().decode(payload.subarray(head?.bodyOffset ?? 0)) })
      },
      oversized: () => {},
      malformed: () => {},
    })
    let accepted = false
    stream.addEventListener('message', (event) => {
      if (!accepted) {
        // the accept frame: {"v":2,"ok":true}, then session frames
        accepted = true
        const rest = new Uint8ArrayList(event.data)
        rest.consume(1 + rest.get(0))
        if (rest.byteLength > 0) reader.push(rest)
        return
      }
      reader.push(event.data)
    })
    stream.send(lengthPrefixed(new TextEncoder().encode('{"v":2}')))
    await waitFor(() => accepted, 'the session accept')
    // kind request, id 7, declared 1 MiB for a 16 KiB limit; then some of that body
    stream.send(new Uint8Array([0x80, 0x80, 0x40, 1, 7]))
    stream.send(new Uint8Array(64 * 1024))
    await waitFor(() => answers.length === 1, 'the refusal')
    expect(answers[0]).toMatchObject({ kind: 3, id: 7 })
    expect(JSON.parse(answers[0]?.body ?? '')).toMatchObject({ code: 'too-large' })
    // the rest of the oversized body, then a real request on the same stream
    stream.send(new Uint8Array(1024 * 1024 - 64 * 1024 - 2))
    stream.send(encodeSessionFrame(1, 8, new TextEncoder().encode('{"text":"after"}')))
    await waitFor(() => answers.length === 2, 'the answer after the refusal')
    expect(answers[1]).toEqual({ kind: 2, id: 8, body: '{"text":"after"}' })
    expect(serverEvents.refused).toEqual([expect.objectContaining({ reason: 'too-large' })])
    await stream.close()
  })

  it('closes an idle session and opens another on the next request', async () => {
    const [server, client] = await Promise.all([node(), node({ sessionIdleMs: 100 })])
    await server.services.rr.handle(Echo.id, Echo, (req) => req)
    const peer = await connect(client, server)
    await expect(client.services.rr.request(peer, Echo.id, Echo, { text: 'one' })).resolves.toEqual({ text: 'one' })
    expect(streamsOf(client, peer, Echo.id)).toHaveLength(1)
    await waitFor(() => streamsOf(client, peer, Echo.id).length === 0, 'the idle session to close')
    await expect(client.services.rr.request(peer, Echo.id, Echo, { text: 'two' })).resolves.toEqual({ text: 'two' })
  })
})
