// Unit tests of the RequestResponse service over in-memory stream pairs: a fake registrar and
// connection manager stand in for libp2p, so the client and server logic run without sockets.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PeerId, StreamHandler } from '@libp2p/interface'
import { UnsupportedProtocolError } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { z } from 'zod'
import {
  defineProtocol,
  type RequestCompleteDetail,
  type RequestRefusedDetail,
  type RequestResponse,
  requestResponse,
} from './index.js'

const Add = defineProtocol('/test/add/1.0.0', {
  request: z.object({ a: z.number(), b: z.number() }),
  response: z.object({ sum: z.number() }),
})

async function newPeerId(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** Two services wired back to back: the client's openStream runs the server's registered handler. */
async function pair(
  maxMessageBytes = 4096,
): Promise<{ client: RequestResponse; server: RequestResponse; serverPeer: PeerId; opened: () => number }> {
  const clientPeer = await newPeerId()
  const serverPeer = await newPeerId()
  const handlers = new Map<string, StreamHandler>()
  let opened = 0
  const registrar: Pick<Registrar, 'handle' | 'unhandle'> = {
    async handle(protocol, handler) {
      handlers.set(protocol, handler)
    },
    async unhandle(protocol) {
      handlers.delete(protocol)
    },
  }
  const connectionManager: Pick<ConnectionManager, 'openStream'> = {
    async openStream(_peer, protocol) {
      opened++
      const id = Array.isArray(protocol) ? protocol[0] : protocol
      const handler = id == null ? undefined : handlers.get(id)
      if (handler == null) throw new UnsupportedProtocolError('no handler')
      const [outbound, inbound] = await streamPair()
      const connection = { remotePeer: clientPeer } as unknown as Connection
      void handler(inbound, connection)
      return outbound
    },
  }
  const components = {
    registrar: registrar as Registrar,
    connectionManager: connectionManager as ConnectionManager,
    logger: defaultLogger(),
  }
  const client = requestResponse({ maxMessageBytes, defaultTimeoutMs: 2_000 })(components)
  const server = requestResponse({ maxMessageBytes, defaultTimeoutMs: 2_000 })(components)
  await client.start()
  await server.start()
  return { client, server, serverPeer, opened: () => opened }
}

function collect<K extends 'request:complete' | 'request:refused'>(
  service: RequestResponse,
  type: K,
): K extends 'request:complete' ? RequestCompleteDetail[] : RequestRefusedDetail[] {
  const seen: Array<RequestCompleteDetail | RequestRefusedDetail> = []
  service.addEventListener(type, (evt) => seen.push(evt.detail))
  return seen as K extends 'request:complete' ? RequestCompleteDetail[] : RequestRefusedDetail[]
}

describe('RequestResponse (in-memory streams)', () => {
  it('answers a typed request and reports both sides', async () => {
    const { client, server, serverPeer } = await pair()
    const clientEvents = collect(client, 'request:complete')
    const serverEvents = collect(server, 'request:complete')
    await server.handle(Add.id, Add, ({ a, b }) => ({ sum: a + b }))
    await expect(client.request(serverPeer, Add.id, Add, { a: 2, b: 3 })).resolves.toEqual({ sum: 5 })
    expect(clientEvents).toEqual([expect.objectContaining({ protocol: Add.id, side: 'client', outcome: 'ok', peer: serverPeer })])
    expect(serverEvents).toEqual([expect.objectContaining({ protocol: Add.id, side: 'server', outcome: 'ok' })])
    expect(clientEvents[0]?.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('turns a synchronous throw into a RemoteHandlerError', async () => {
    const { client, server, serverPeer } = await pair()
    await server.handle(Add.id, Add, () => {
      throw Object.assign(new Error('overflow'), { code: 'overflow' })
    })
    await expect(client.request(serverPeer, Add.id, Add, { a: 1, b: 1 })).rejects.toMatchObject({
      name: 'RemoteHandlerError',
      code: 'overflow',
      remoteMessage: 'overflow',
    })
  })

  it('refuses an invalid request locally, without opening a stream', async () => {
    const { client, server, serverPeer, opened } = await pair()
    const refused = collect(client, 'request:refused')
    await server.handle(Add.id, Add, ({ a, b }) => ({ sum: a + b }))
    // @ts-expect-error b must be a number: the point is what happens at runtime when types are bypassed.
    await expect(client.request(serverPeer, Add.id, Add, { a: 1, b: 'x' })).rejects.toMatchObject({
      name: 'InvalidRequestError',
      remote: false,
    })
    expect(opened()).toBe(0)
    expect(refused).toEqual([expect.objectContaining({ side: 'client', reason: 'invalid' })])
  })

  it('refuses an oversized request locally, without opening a stream', async () => {
    const { client, server, serverPeer, opened } = await pair(256)
    const Text = defineProtocol('/test/text/1.0.0', { request: z.string(), response: z.string() })
    await server.handle(Text.id, Text, (s) => s)
    await expect(client.request(serverPeer, Text.id, Text, 'x'.repeat(300))).rejects.toMatchObject({
      name: 'MessageTooLargeError',
      limit: 256,
    })
    expect(opened()).toBe(0)
  })

  it('refuses an oversized response with too-large instead of sending it', async () => {
    const { client, server, serverPeer } = await pair(256)
    const Text = defineProtocol('/test/text/1.0.0', { request: z.string(), response: z.string() })
    const serverEvents = collect(server, 'request:complete')
    await server.handle(Text.id, Text, (s) => s.repeat(100))
    await expect(client.request(serverPeer, Text.id, Text, 'abcd')).rejects.toMatchObject({ name: 'MessageTooLargeError' })
    expect(serverEvents[0]?.outcome).toBe('too-large')
  })

  it('reports a response that fails the schema as InvalidResponseError', async () => {
    const { client, server, serverPeer } = await pair()
    const Loose = defineProtocol(Add.id, { request: Add.request, response: z.object({ sum: z.string() }) })
    await server.handle(Loose.id, Loose, () => ({ sum: 'not a number' }))
    await expect(client.request(serverPeer, Add.id, Add, { a: 1, b: 2 })).rejects.toMatchObject({
      name: 'InvalidResponseError',
      message: expect.stringContaining('sum:'),
    })
  })

  it('maps a missing handler to ProtocolNotSupportedError', async () => {
    const { client, serverPeer } = await pair()
    await expect(client.request(serverPeer, Add.id, Add, { a: 1, b: 2 })).rejects.toMatchObject({ name: 'ProtocolNotSupportedError' })
  })

  it('refuses a second handler for one protocol, and serves again after unhandle', async () => {
    const { client, server, serverPeer } = await pair()
    await server.handle(Add.id, Add, ({ a, b }) => ({ sum: a + b }))
    await expect(server.handle(Add.id, Add, () => ({ sum: 0 }))).rejects.toMatchObject({ name: 'ProtocolAlreadyHandledError' })
    await server.unhandle(Add.id)
    await expect(client.request(serverPeer, Add.id, Add, { a: 1, b: 2 })).rejects.toMatchObject({ name: 'ProtocolNotSupportedError' })
    await server.handle(Add.id, Add, () => ({ sum: 42 }))
    await expect(client.request(serverPeer, Add.id, Add, { a: 1, b: 2 })).resolves.toEqual({ sum: 42 })
  })

  it('aborts running handlers when the service stops', async () => {
    const { client, server, serverPeer } = await pair()
    const entered = Promise.withResolvers<AbortSignal>()
    await server.handle(Add.id, Add, async (_req, { signal }) => {
      entered.resolve(signal)
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      return { sum: 0 }
    })
    const pending = client.request(serverPeer, Add.id, Add, { a: 1, b: 2 }, { timeoutMs: 1_000 })
    const signal = await entered.promise
    await server.stop()
    expect(signal.aborted).toBe(true)
    await expect(pending).rejects.toBeInstanceOf(Error)
  })

  it('honours the caller signal and reports outcome error', async () => {
    const { client, server, serverPeer } = await pair()
    const events = collect(client, 'request:complete')
    const entered = Promise.withResolvers<void>()
    await server.handle(Add.id, Add, async (_req, { signal }) => {
      entered.resolve()
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      return { sum: 0 }
    })
    const controller = new AbortController()
    const pending = client.request(serverPeer, Add.id, Add, { a: 1, b: 2 }, { signal: controller.signal })
    await entered.promise
    controller.abort(new Error('caller gave up'))
    await expect(pending).rejects.not.toMatchObject({ name: 'RequestTimeoutError' })
    expect(events[0]?.outcome).toBe('error')
  })

  it('validates its options', () => {
    const components = { registrar: {} as Registrar, connectionManager: {} as ConnectionManager, logger: defaultLogger() }
    expect(() => requestResponse({ maxMessageBytes: 0 })(components)).toThrow(RangeError)
    expect(() => requestResponse({ maxMessageBytes: 10, defaultTimeoutMs: -1 })(components)).toThrow(RangeError)
  })
})
