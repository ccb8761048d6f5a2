// TLS on the TCP socket itself (src/security/socket-takeover.ts), driven through @libp2p/tcp's
// real connections: the bytes the connection buffered before the encrypter ran reach TLS, data
// flows both ways, and closing one side closes the other's socket.
import type { Connection, MessageStream, MultiaddrConnection, SecuredConnection, Upgrader } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { tcp } from '@libp2p/tcp'
import { streamPair } from '@libp2p/utils'
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { NodeIdentity } from '../src/index.js'
import { mtlsEncrypter } from '../src/security/mtls-encrypter.js'
import { takeOverTcpSocket } from '../src/security/socket-takeover.js'
import { CaptureLog } from './fixtures/capture-log.js'
import { createMtlsNode, echo } from './fixtures/nodes.js'
import { TestPki } from './fixtures/test-pki.js'

let pki: TestPki
const cleanups: Array<() => Promise<void> | void> = []

beforeAll(async () => {
  pki = await TestPki.create()
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(async () => {
  await pki.cleanup()
})

async function identity(name: string): Promise<NodeIdentity> {
  const loaded = await NodeIdentity.load((await pki.node(name)).files, { log: new CaptureLog() })
  cleanups.push(() => loaded.close())
  return loaded
}

/** A connected pair of @libp2p/tcp connections on loopback, not upgraded: what an encrypter receives. */
async function tcpPair(): Promise<{ client: MultiaddrConnection; server: MultiaddrConnection }> {
  let accepted: (maConn: MultiaddrConnection) => void = () => undefined
  const serverSide = new Promise<MultiaddrConnection>((resolve) => {
    accepted = resolve
  })
  // the upgrader hands back the raw connection instead of upgrading it
  const upgrader = {
    upgradeInbound: async (maConn: MultiaddrConnection) => accepted(maConn),
    upgradeOutbound: async (maConn: MultiaddrConnection) => maConn as unknown as Connection,
  } as unknown as Upgrader
  const transport = tcp()({ logger: defaultLogger() } as Parameters<ReturnType<typeof tcp>>[0])
  const listener = transport.createListener({ upgrader })
  await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
  cleanups.push(() => listener.close())
  const [address] = listener.getAddrs()
  if (address === undefined) throw new Error('listener has no address')
  const client = (await transport.dial(address, { upgrader, signal: AbortSignal.timeout(10_000) })) as unknown as MultiaddrConnection
  const server = await serverSide
  cleanups.push(() => {
    client.abort(new Error('test over'))
    server.abort(new Error('test over'))
  })
  return { client, server }
}

function encrypterFor(identity: NodeIdentity): ReturnType<ReturnType<typeof mtlsEncrypter>> {
  const upgrader = { getStreamMuxers: () => new Map() } as unknown as Upgrader
  return mtlsEncrypter(identity)({ logger: defaultLogger(), upgrader })
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function nextMessage(stream: MessageStream): Promise<string> {
  return new Promise((resolve) => {
    stream.addEventListener(
      'message',
      (event) => resolve(new TextDecoder().decode(event.data instanceof Uint8Array ? event.data : event.data.subarray())),
      { once: true },
    )
  })
}

function socketOf(connection: MultiaddrConnection): import('node:net').Socket {
  return (connection as unknown as { socket: import('node:net').Socket }).socket
}

describe('TLS on the TCP socket', () => {
  it('takes the socket of a TCP connection and leaves any other stream alone', async () => {
    const { client } = await tcpPair()
    expect(takeOverTcpSocket(client)).toBe(socketOf(client))
    expect(socketOf(client).listenerCount('data')).toBe(0)
    const [a] = await streamPair()
    expect(takeOverTcpSocket(a)).toBeUndefined()
  })

  it('hands TLS the bytes the connection read before the encrypter ran, then carries data both ways', async () => {
    const [clientIdentity, serverIdentity] = await Promise.all([identity('early-client'), identity('early-server')])
    const { client, server } = await tcpPair()

    // the client's ClientHello arrives first and sits in the server connection's read buffer
    const outbound = encrypterFor(clientIdentity).secureOutbound(client)
    await waitFor(() => server.readBufferLength > 0, 'the ClientHello is buffered by the server connection')
    const inbound = encrypterFor(serverIdentity).secureInbound(server)
    const [secureClient, secureServer] = (await Promise.all([outbound, inbound])) as [SecuredConnection, SecuredConnection]

    expect(secureClient.remotePeer.equals(serverIdentity.peerId)).toBe(true)
    expect(secureServer.remotePeer.equals(clientIdentity.peerId)).toBe(true)
    expect(socketOf(server).listenerCount('data')).toBe(0)

    const atServer = nextMessage(secureServer.connection)
    secureClient.connection.send(new TextEncoder().encode('ping'))
    expect(await atServer).toBe('ping')
    const atClient = nextMessage(secureClient.connection)
    secureServer.connection.send(new TextEncoder().encode('pong'))
    expect(await atClient).toBe('pong')
  })

  it('closes the remote side when one side closes', async () => {
    const [clientIdentity, serverIdentity] = await Promise.all([identity('close-client'), identity('close-server')])
    const { client, server } = await tcpPair()
    const [secureClient, secureServer] = await Promise.all([
      encrypterFor(clientIdentity).secureOutbound(client),
      encrypterFor(serverIdentity).secureInbound(server),
    ])
    const serverClosed = new Promise<void>((resolve) => secureServer.connection.addEventListener('close', () => resolve(), { once: true }))
    await secureClient.connection.close()
    await serverClosed
    await waitFor(() => socketOf(server).destroyed && socketOf(client).destroyed, 'both sockets are destroyed')
    expect(server.status).not.toBe('open')
  })

  it('closes a libp2p connection with FIN both ways, not a RST: the closer keeps the 4-tuple in TIME_WAIT', async () => {
    // libp2p closes the TCP connection object directly; over the taken socket that bypassed TLS
    // and ended in a RST (unread bytes at close), which lost data and broke hole punching
    const [a, b] = await Promise.all([identity('fin-a'), identity('fin-b')])
    const nodeA = await createMtlsNode(a, 'tcp')
    const nodeB = await createMtlsNode(b, 'tcp')
    cleanups.push(() => nodeA.stop(), () => nodeB.stop())
    expect(await echo(nodeA, nodeB, 'before the close')).toBe('before the close')
    const [connection] = nodeA.getConnections(nodeB.peerId)
    const remotePort = Number(connection?.remoteAddr.toString().split('/')[4])
    expect(remotePort).toBeGreaterThan(0)
    const ours = (await tcpSockets()).find((socket) => socket.state === ESTABLISHED && socket.remotePort === remotePort)
    if (ours === undefined) throw new Error(`no established connection to port ${remotePort}`)
    await nodeA.hangUp(nodeB.peerId)
    await waitFor(
      async () => (await tcpSockets()).some((socket) => socket.state === TIME_WAIT && socket.localPort === ours.localPort),
      'the closer holds the connection in TIME_WAIT',
      5_000,
    )
  })
})

// /proc/net/tcp states: only a connection closed with FIN gets to TIME_WAIT
const ESTABLISHED = '01'
const TIME_WAIT = '06'

/** The IPv4 TCP sockets of this machine (Linux /proc/net/tcp): local and remote port, state. */
async function tcpSockets(): Promise<Array<{ localPort: number; remotePort: number; state: string }>> {
  const port = (address: string | undefined): number => Number.parseInt(address?.split(':')[1] ?? '', 16)
  return (await readFile('/proc/net/tcp', 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .map((fields) => ({ localPort: port(fields[1]), remotePort: port(fields[2]), state: fields[3] ?? '' }))
}
