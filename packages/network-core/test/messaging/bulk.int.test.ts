// Integration tests of the bulk transfer protocol between real libp2p nodes on loopback (TCP,
// noise, yamux): push and pull with sha256 checks, resumption after a cut connection, refusals.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { type BulkTransfer, BulkTransferError, type BulkTransferInit, bulkTransfer, hashFile, type TransferCompleteDetail } from '../../src/messaging/bulk/index.js'
import { BULK_RECEIVE_WINDOW_BYTES, StreamReader } from '../../src/messaging/bulk/stream-io.js'
import { waitFor as waitUntil } from '../../src/testing/test-network.js'
import { listenAddress, loopbackNode } from './loopback-node.js'

type Node = Libp2p<{ bulk: BulkTransfer }>
let nodes: Libp2p[] = []
let dirs: string[] = []

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hypha-bulk-'))
  dirs.push(dir)
  return dir
}

async function node(init: Partial<BulkTransferInit> = {}): Promise<Node> {
  const created = await loopbackNode({ bulk: bulkTransfer({ directory: await tempDir(), idleTimeoutMs: 5_000, ...init }) })
  nodes.push(created)
  return created
}

async function connect(from: Libp2p, to: Libp2p): Promise<PeerId> {
  await from.dial(listenAddress(to))
  return to.peerId
}

async function randomFile(bytes: number): Promise<string> {
  const path = join(await tempDir(), 'payload.bin')
  await writeFile(path, randomBytes(bytes))
  return path
}

function completions(target: Node): TransferCompleteDetail[] {
  const seen: TransferCompleteDetail[] = []
  target.services.bulk.addEventListener('transfer:complete', (event) => seen.push(event.detail))
  return seen
}

function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return waitUntil(condition, what, timeoutMs)
}

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  nodes = []
  dirs = []
})

const SIZE = 8 * 1024 * 1024

describe('bulk transfer', () => {
  it("caps its yamux streams' receive window (the field it sets is the muxer's own)", async () => {
    const [server, client] = await Promise.all([node(), node()])
    await server.handle('/test/window/1.0.0', () => {})
    const stream = await client.dialProtocol(await connect(client, server), '/test/window/1.0.0')
    const muxed = stream as typeof stream & { maxStreamWindowSize?: unknown }
    // yamux's default, which a reader lowers: if an upgrade renames the field, this fails
    expect(muxed.maxStreamWindowSize).toBe(16 * 1024 * 1024)
    new StreamReader(stream)
    expect(muxed.maxStreamWindowSize).toBe(BULK_RECEIVE_WINDOW_BYTES)
    await stream.close()
  })

  it('pushes a file, pulls it back, and both ends agree on size and sha256', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverDone = completions(server)
    const source = await randomFile(SIZE)
    const peer = await connect(client, server)
    const expected = await hashFile(source)

    await expect(client.services.bulk.push(peer, 'weights.bin', source)).resolves.toEqual(expected)
    await expect(server.services.bulk.store.stat('weights.bin')).resolves.toEqual(expected)

    const destination = join(await tempDir(), 'back.bin')
    const progress: number[] = []
    await expect(client.services.bulk.pull(peer, 'weights.bin', destination, { onProgress: (p) => progress.push(p.transferred) })).resolves.toEqual(expected)
    expect(Buffer.compare(await readFile(destination), await readFile(source))).toBe(0)
    expect(progress.at(-1)).toBe(SIZE)
    await waitFor(() => serverDone.length === 2, 'both server completions')
    expect(serverDone.map((d) => [d.direction, d.outcome, d.bytes])).toEqual([['push', 'ok', SIZE], ['pull', 'ok', SIZE]])
  })

  it('resumes a pull from where a cut connection left it', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const clientDone = completions(client)
    const source = await randomFile(SIZE)
    await server.services.bulk.store.importFile('data.bin', source)
    const peer = await connect(client, server)
    const destination = join(await tempDir(), 'data.bin')

    // Halfway, the connection goes (the abort stops the reader at once, so bytes already buffered
    // in this process do not complete the pull behind the test's back).
    const cut = new AbortController()
    const first = await client.services.bulk.pull(peer, 'data.bin', destination, {
      signal: cut.signal,
      onProgress: ({ transferred, total }) => {
        if (!cut.signal.aborted && transferred > total / 2) {
          cut.abort(new Error('connection cut'))
          void client.hangUp(peer)
        }
      },
    }).catch((err: unknown) => err)
    expect(first).toBeInstanceOf(Error)
    const kept = (await stat(`${destination}.partial`)).size
    expect(kept).toBeGreaterThan(SIZE / 2)
    expect(kept).toBeLessThan(SIZE)

    await expect(client.services.bulk.pull(peer, 'data.bin', destination)).resolves.toEqual(await hashFile(source))
    expect(Buffer.compare(await readFile(destination), await readFile(source))).toBe(0)
    // the second pull moved only what the first did not
    expect(clientDone.at(-1)).toMatchObject({ outcome: 'ok', bytes: SIZE - kept })
  })

  it('resumes a push from the bytes the receiver already holds', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const serverDone = completions(server)
    const source = await randomFile(SIZE)
    const peer = await connect(client, server)
    let cut = false
    const first = await client.services.bulk.push(peer, 'up.bin', source, {
      onProgress: ({ transferred, total }) => {
        if (!cut && transferred > total / 2) {
          cut = true
          void client.hangUp(peer)
        }
      },
    }).catch((err: unknown) => err)
    expect(first).toBeInstanceOf(Error)
    await waitFor(() => serverDone.length === 1, 'the broken push on the server')
    const held = serverDone[0]?.bytes ?? 0
    expect(held).toBeGreaterThan(0)

    await expect(client.services.bulk.push(peer, 'up.bin', source)).resolves.toEqual(await hashFile(source))
    await waitFor(() => serverDone.length === 2, 'the resumed push on the server')
    expect(serverDone[1]).toMatchObject({ outcome: 'ok', bytes: SIZE - held })
    expect(Buffer.compare(await readFile(server.services.bulk.store.pathOf('up.bin')), await readFile(source))).toBe(0)
  })

  it('fails a pull whose bytes do not match the announced sha256, and starts afresh next time', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const source = await randomFile(1024 * 1024)
    await server.services.bulk.store.importFile('x.bin', source)
    // the file changes behind the store's back: its recorded digest is now wrong
    await writeFile(server.services.bulk.store.pathOf('x.bin'), randomBytes(1024 * 1024))
    const peer = await connect(client, server)
    const destination = join(await tempDir(), 'x.bin')
    const error = await client.services.bulk.pull(peer, 'x.bin', destination).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(BulkTransferError)
    expect(error).toMatchObject({ code: 'integrity', remote: false })
    await expect(stat(`${destination}.partial`)).rejects.toThrow()
    await expect(stat(destination)).rejects.toThrow()
  })

  it('refuses unknown payloads, oversized pushes and bad names with clear errors, and keeps serving', async () => {
    const [server, client] = await Promise.all([node({ maxPayloadBytes: 1024 }), node()])
    const peer = await connect(client, server)
    const destination = join(await tempDir(), 'nothing.bin')
    await expect(client.services.bulk.pull(peer, 'missing.bin', destination)).rejects.toMatchObject({ name: 'BulkTransferError', code: 'not-found', remote: true })
    const big = await randomFile(4096)
    await expect(client.services.bulk.push(peer, 'big.bin', big)).rejects.toMatchObject({ code: 'too-large', remote: true })
    await expect(client.services.bulk.push(peer, '../escape', big)).rejects.toThrow(/payload name/)
    const small = await randomFile(512)
    await expect(client.services.bulk.push(peer, 'small.bin', small)).resolves.toEqual(await hashFile(small))
  })

  it('refuses what the access policy forbids with its reason, and serves what it allows', async () => {
    const [server, client] = await Promise.all([node(), node()])
    const asked: Array<{ op: string; name: string; peer: string; size?: number }> = []
    server.services.bulk.setAccessPolicy(({ op, name, peer, size }) => {
      asked.push({ op, name, peer: peer.toString(), ...(size !== undefined ? { size } : {}) })
      return name.startsWith('open.') ? true : `${name} is not for ${peer.toString().slice(-6)}`
    })
    const peer = await connect(client, server)
    const source = await randomFile(64 * 1024)
    const refused = await client.services.bulk.push(peer, 'secret.bin', source).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(BulkTransferError)
    expect(refused).toMatchObject({ code: 'forbidden', remote: true })
    expect((refused as Error).message).toContain('secret.bin is not for')
    await expect(client.services.bulk.pull(peer, 'secret.bin', join(await tempDir(), 'out'))).rejects.toMatchObject({ code: 'forbidden' })
    expect(await server.services.bulk.store.stat('secret.bin')).toBeUndefined()

    const pushed = await client.services.bulk.push(peer, 'open.bin', source)
    expect(pushed).toEqual(await hashFile(source))
    expect(asked).toEqual([
      { op: 'push', name: 'secret.bin', peer: client.peerId.toString(), size: 64 * 1024 },
      { op: 'pull', name: 'secret.bin', peer: client.peerId.toString() },
      { op: 'push', name: 'open.bin', peer: client.peerId.toString(), size: 64 * 1024 },
    ])
  })
})
