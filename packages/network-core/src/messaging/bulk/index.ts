// Bulk transfer as a libp2p service: push and pull of named payloads (model weights, task inputs
// and results) straight between a file and a stream, with length and sha256 checked end to end,
// backpressure from disk to the sender, resumption from an offset after a broken connection, and
// a limit on concurrent transfers. Memory does not grow with the payload: bytes flow through in
// transport-window-sized pieces. Wire format in codec.ts.
import type { Hash } from 'node:crypto'
import { createReadStream, type WriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { serviceCapabilities, setMaxListeners, TypedEventEmitter } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { z } from 'zod'
import {
  BULK_PROTOCOL,
  BulkErrorCode,
  type BulkErrorFrame,
  BulkRequest,
  decodeControl,
  encodeControl,
  MAX_CONTROL_FRAME_BYTES,
  PAYLOAD_NAME,
  PullHeader,
  PushDone,
  PushReady,
} from './codec.js'
import { BulkTransferError } from './errors.js'
import { peerIdOfTarget } from '../../connection/addresses.js'
import { DirectoryBulkStore, hashFile, hashPrefix, type PayloadInfo, payloadWriter } from './store.js'
import { lengthPrefixed } from '../frames.js'
import { truncate } from '../wire-text.js'
import { sendWithBackpressure, StreamReader } from './stream-io.js'

export { BULK_PROTOCOL, BulkErrorCode, PAYLOAD_NAME } from './codec.js'
export { BulkTransferError } from './errors.js'
export { DirectoryBulkStore, hashFile, type PayloadInfo } from './store.js'

export interface TransferProgress {
  name: string
  /** Bytes of the payload this node holds now (resumed bytes included). */
  transferred: number
  total: number
}

export interface TransferOptions extends AbortOptions {
  /** Gives up when no payload byte moves for this long. @default the service's idleTimeoutMs */
  idleTimeoutMs?: number
  onProgress?: (progress: TransferProgress) => void
}

export interface PullOptions extends TransferOptions {
  /** Go on from what an earlier, broken pull left at `<destination>.partial`. @default true */
  resume?: boolean
}

export type TransferDirection = 'push' | 'pull'
export type TransferSide = 'client' | 'server'

export interface TransferCompleteDetail {
  direction: TransferDirection
  side: TransferSide
  name: string
  peer: PeerId | undefined
  /** Payload bytes moved by this transfer (not counting what a resume skipped). */
  bytes: number
  durationMs: number
  /** 'ok' or the BulkTransferError code. */
  outcome: string
}

export interface BulkTransferEvents {
  'transfer:complete': CustomEvent<TransferCompleteDetail>
}

export interface BulkTransferInit {
  /** The directory of payloads this node serves and receives into. */
  directory: string
  /** Transfers this node serves at once (pushes and pulls together); more get `busy`. @default 8 */
  maxConcurrent?: number
  /** Largest payload this node accepts by push. @default 64 GiB */
  maxPayloadBytes?: number
  /** A transfer with no payload byte moving for this long fails. @default 30_000 */
  idleTimeoutMs?: number
}

/** What a peer asks of this node, for its access policy to decide. */
export interface BulkAccessRequest {
  op: TransferDirection
  name: string
  peer: PeerId
  /** The announced size of a push. */
  size?: number
}

/**
 * Decides who may push or pull which payload: true to allow, or the reason to refuse (sent to
 * the peer with the code `forbidden`). The default allows every admitted peer everything.
 */
export type BulkAccessPolicy = (request: BulkAccessRequest) => true | string | Promise<true | string>

export interface BulkTransferComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

const DEFAULT_MAX_CONCURRENT = 8
const DEFAULT_MAX_PAYLOAD = 64 * 1024 ** 3
const DEFAULT_IDLE_MS = 30_000

export class BulkTransfer extends TypedEventEmitter<BulkTransferEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@hypha/bulk-transfer'
  readonly [serviceCapabilities]: string[] = ['@hypha/bulk-transfer']
  readonly store: DirectoryBulkStore

  readonly #components: BulkTransferComponents
  readonly #log: Logger
  readonly #maxConcurrent: number
  readonly #maxPayloadBytes: number
  readonly #idleTimeoutMs: number
  #active = 0
  #started = false
  #policy: BulkAccessPolicy = () => true

  constructor(components: BulkTransferComponents, init: BulkTransferInit) {
    super()
    this.#components = components
    this.#log = components.logger.forComponent('hypha:messaging:bulk')
    this.store = new DirectoryBulkStore(init.directory)
    this.#maxConcurrent = init.maxConcurrent ?? DEFAULT_MAX_CONCURRENT
    this.#maxPayloadBytes = init.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD
    this.#idleTimeoutMs = init.idleTimeoutMs ?? DEFAULT_IDLE_MS
  }

  /** Replaces the access policy (the service that owns the payloads sets it, e.g. the scheduler for task results). */
  setAccessPolicy(policy: BulkAccessPolicy): void {
    this.#policy = policy
  }

  /** Transfers being served now. */
  get active(): number {
    return this.#active
  }

  isStarted(): boolean {
    return this.#started
  }

  async start(): Promise<void> {
    if (this.#started) return
    await this.store.init()
    await this.#components.registrar.handle(
      BULK_PROTOCOL,
      (stream, connection) => {
        void this.#serve(stream, connection)
      },
      // Room above the limit so excess transfers get a `busy` answer rather than a bare reset.
      { runOnLimitedConnection: true, maxInboundStreams: this.#maxConcurrent + 8 },
    )
    this.#started = true
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    await this.#components.registrar.unhandle(BULK_PROTOCOL)
  }

  /** Downloads `name` from `peer` into the file `destination`, verified against its sha256. */
  async pull(peer: PeerId | Multiaddr, name: string, destination: string, options: PullOptions = {}): Promise<PayloadInfo> {
    PAYLOAD_NAME.parse(name)
    const partial = `${destination}.partial`
    const have = options.resume === false ? 0 : await stat(partial).then((s) => s.size, () => 0)
    return this.#clientTransfer('pull', peer, name, options, async (stream, reader, io) => {
      await sendWithBackpressure(stream, lengthPrefixed(encodeControl({ op: 'pull', name, offset: have })), io.signal)
      const { size, sha256 } = await readAnswer(reader, PullHeader, 'pull header', io.signal)
      // A partial longer than the payload is not a prefix of it: start again.
      const offset = have <= size ? have : 0
      // Continue the digest over what we already hold, then over what arrives.
      const { hash } = await hashPrefix(partial, offset).catch(() => hashPrefix(partial, 0))
      const file = payloadWriter(partial, offset)
      try {
        await reader.bytes(size - offset, (chunk) => {
          io.count(chunk.byteLength)
          options.onProgress?.({ name, transferred: offset + io.bytes, total: size })
          return writeChunk(file, hash, chunk)
        }, io.signal)
        await reader.end(io.signal)
      } finally {
        await closeFile(file)
      }
      const got = hash.digest('hex')
      if (got !== sha256) {
        // Not a prefix of this payload after all (it changed since): the next pull starts afresh.
        await rm(partial, { force: true })
        throw new BulkTransferError(BulkErrorCode.integrity, `sha256 of ${name} is ${got}, the sender announced ${sha256}`, false)
      }
      await rename(partial, destination)
      return { size, sha256 }
    })
  }

  /** Uploads the file `source` to `peer` as `name`; resolves once the peer has verified and stored it. */
  async push(peer: PeerId | Multiaddr, name: string, source: string, options: TransferOptions = {}): Promise<PayloadInfo> {
    PAYLOAD_NAME.parse(name)
    const info = await hashFile(source)
    return this.#clientTransfer('push', peer, name, options, async (stream, reader, io) => {
      await sendWithBackpressure(stream, lengthPrefixed(encodeControl({ op: 'push', name, ...info })), io.signal)
      const { offset } = await readAnswer(reader, PushReady, 'push answer', io.signal)
      if (offset > info.size) throw new BulkTransferError(BulkErrorCode.offset, `the peer holds ${offset} bytes of a ${info.size} byte payload`, false)
      if (offset < info.size) {
        try {
          for await (const chunk of createReadStream(source, { start: offset, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
            await sendWithBackpressure(stream, chunk, io.signal)
            io.count(chunk.byteLength)
            options.onProgress?.({ name, transferred: offset + io.bytes, total: info.size })
          }
        } catch (err) {
          // A receiver that gives up mid-transfer says why before it closes: that beats "stream closed".
          throw (await refusalIn(reader)) ?? err
        }
      }
      await readAnswer(reader, PushDone, 'push result', io.signal)
      await stream.close({ signal: io.signal })
      return info
    })
  }

  /** One transfer this node asked for: the stream, the idle clock, the outcome and the completion event around `run`. */
  async #clientTransfer<T>(
    direction: TransferDirection,
    peer: PeerId | Multiaddr,
    name: string,
    options: TransferOptions,
    run: (stream: Stream, reader: StreamReader, io: TransferIo) => Promise<T>,
  ): Promise<T> {
    const started = performance.now()
    const io = this.#io(options)
    let outcome = 'error'
    let stream: Stream | undefined
    try {
      stream = await this.#open(peer, io.signal)
      const result = await run(stream, new StreamReader(stream), io)
      outcome = 'ok'
      return result
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      outcome = err instanceof BulkTransferError ? err.code : 'error'
      throw io.translate(err)
    } finally {
      io.done()
      this.#complete(direction, 'client', name, peerIdOfTarget(peer), io.bytes, started, outcome)
    }
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const started = performance.now()
    const io = this.#io({})
    const reader = new StreamReader(stream)
    let direction: TransferDirection = 'pull'
    let name = ''
    let outcome = 'error'
    const refuse = async (code: string, message: string): Promise<void> => {
      outcome = code
      await sendWithBackpressure(stream, lengthPrefixed(encodeControl({ ok: false, code, message: truncate(message) })), io.signal)
      await stream.close({ signal: io.signal })
    }
    const busy = this.#active >= this.#maxConcurrent
    this.#active++
    try {
      const request = decodeControl(BulkRequest, await reader.frame(MAX_CONTROL_FRAME_BYTES, io.signal))
      if (!request.ok) {
        this.#log('refusing a bulk request from %p - %s', connection.remotePeer, request.detail)
        await refuse(BulkErrorCode.invalid, request.detail)
        return
      }
      direction = request.value.op
      name = request.value.name
      if (busy) {
        await refuse(BulkErrorCode.busy, `at most ${this.#maxConcurrent} concurrent transfers`)
        return
      }
      const access = await this.#policy({
        op: request.value.op,
        name,
        peer: connection.remotePeer,
        ...(request.value.op === 'push' ? { size: request.value.size } : {}),
      })
      if (access !== true) {
        this.#log('refusing bulk %s of %s to %p - %s', direction, name, connection.remotePeer, access)
        await refuse(BulkErrorCode.forbidden, access)
        return
      }
      if (request.value.op === 'pull') {
        const info = await this.store.stat(name)
        if (info === undefined) {
          await refuse(BulkErrorCode.notFound, `no payload named ${name}`)
          return
        }
        if (request.value.offset > info.size) {
          await refuse(BulkErrorCode.offset, `offset ${request.value.offset} is past the end (${info.size} bytes)`)
          return
        }
        await sendWithBackpressure(stream, lengthPrefixed(encodeControl({ ok: true, ...info })), io.signal)
        if (request.value.offset < info.size) {
          for await (const chunk of this.store.openRead(name, request.value.offset) as AsyncIterable<Buffer>) {
            await sendWithBackpressure(stream, chunk, io.signal)
            io.count(chunk.byteLength)
          }
        }
        await stream.close({ signal: io.signal })
        outcome = 'ok'
        return
      }
      const info = { size: request.value.size, sha256: request.value.sha256 }
      if (info.size > this.#maxPayloadBytes) {
        await refuse(BulkErrorCode.tooLarge, `payload of ${info.size} bytes, more than the ${this.#maxPayloadBytes} byte limit`)
        return
      }
      const offset = await this.store.partialSize(info)
      const { file, hash } = await this.store.openPartial(info, offset)
      try {
        await sendWithBackpressure(stream, lengthPrefixed(encodeControl({ ok: true, offset })), io.signal)
        await reader.bytes(info.size - offset, (chunk) => {
          io.count(chunk.byteLength)
          return writeChunk(file, hash, chunk)
        }, io.signal)
      } finally {
        await closeFile(file)
      }
      if (!(await this.store.commit(name, info, hash.digest('hex')))) {
        await refuse(BulkErrorCode.integrity, `the received bytes do not match size ${info.size} and sha256 ${info.sha256}`)
        return
      }
      await sendWithBackpressure(stream, lengthPrefixed(encodeControl({ ok: true })), io.signal)
      await reader.end(io.signal)
      await stream.close({ signal: io.signal })
      outcome = 'ok'
    } catch (err) {
      this.#log('bulk %s of %s with %p failed - %e', direction, name, connection.remotePeer, err)
      if (outcome === 'error' && err instanceof BulkTransferError) outcome = err.code
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      this.#active--
      io.done()
      this.#complete(direction, 'server', name, connection.remotePeer, io.bytes, started, outcome)
    }
  }

  #open(peer: PeerId | Multiaddr, signal: AbortSignal): Promise<Stream> {
    return this.#components.connectionManager.openStream(peer, BULK_PROTOCOL, { signal, runOnLimitedConnection: true })
  }

  /** One transfer's signal (the caller's, and an idle clock every moved byte resets) and its byte count. */
  #io(options: TransferOptions): TransferIo {
    const idleMs = options.idleTimeoutMs ?? this.#idleTimeoutMs
    const idle = new AbortController()
    let last = Date.now()
    // A coarse check (every quarter of the budget) rather than a timer reset per chunk.
    const timer = setInterval(() => {
      if (Date.now() - last > idleMs) idle.abort(new BulkTransferError('timeout', `no payload byte moved for ${idleMs} ms`, false))
    }, Math.max(10, idleMs / 4))
    const signal = options.signal === undefined ? idle.signal : AbortSignal.any([idle.signal, options.signal])
    setMaxListeners(Infinity, signal)
    const io: TransferIo = {
      signal,
      bytes: 0,
      count: (bytes) => {
        io.bytes += bytes
        last = Date.now()
      },
      done: () => clearInterval(timer),
      translate: (err) => (idle.signal.aborted ? idle.signal.reason : err),
    }
    return io
  }

  #complete(direction: TransferDirection, side: TransferSide, name: string, peer: PeerId | undefined, bytes: number, started: number, outcome: string): void {
    this.safeDispatchEvent<TransferCompleteDetail>('transfer:complete', {
      detail: { direction, side, name, peer, bytes, durationMs: performance.now() - started, outcome },
    })
  }
}

/** The libp2p service factory: `services: { bulk: bulkTransfer({ directory }) }`. */
export function bulkTransfer(init: BulkTransferInit): (components: BulkTransferComponents) => BulkTransfer {
  return (components) => new BulkTransfer(components, init)
}

/** One transfer's signal and the payload bytes it has moved. */
interface TransferIo {
  readonly signal: AbortSignal
  /** Payload bytes moved by this transfer (not counting what a resume skipped). */
  bytes: number
  count(bytes: number): void
  done(): void
  /** The idle timeout's own error when that is what ended the transfer. */
  translate(err: unknown): unknown
}

/** The peer's answer to a step of the transfer; a malformed frame or an error frame throws. */
async function readAnswer<T extends { ok: true }>(
  reader: StreamReader,
  schema: z.ZodType<T | z.infer<typeof BulkErrorFrame>>,
  what: string,
  signal: AbortSignal,
): Promise<T> {
  const answer = decodeControl(schema, await reader.frame(MAX_CONTROL_FRAME_BYTES, signal))
  if (!answer.ok) throw new BulkTransferError(BulkErrorCode.invalid, `bad ${what}: ${answer.detail}`, true)
  if (!answer.value.ok) throw new BulkTransferError(answer.value.code, answer.value.message, true)
  return answer.value
}

/** The error frame a peer sent before closing, if one is waiting to be read. */
async function refusalIn(reader: StreamReader): Promise<BulkTransferError | undefined> {
  try {
    const frame = decodeControl(PushDone, await reader.frame(MAX_CONTROL_FRAME_BYTES, AbortSignal.timeout(100)))
    return frame.ok && !frame.value.ok ? new BulkTransferError(frame.value.code, frame.value.message, true) : undefined
  } catch {
    return undefined
  }
}

/** Hashes a chunk and writes it; a promise when the file wants us to wait. */
function writeChunk(file: WriteStream, hash: Hash, chunk: Uint8Array): Promise<void> | undefined {
  hash.update(chunk)
  if (file.write(chunk)) return undefined
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      file.off('error', onError)
      resolve()
    }
    const onError = (err: Error): void => {
      file.off('drain', onDrain)
      reject(err)
    }
    file.once('drain', onDrain)
    file.once('error', onError)
  })
}

function closeFile(file: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (file.closed) {
      resolve()
      return
    }
    file.end((err?: Error | null) => (err == null ? resolve() : reject(err)))
  })
}

