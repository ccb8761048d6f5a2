// The link probe: moves N random bytes to a peer over one chosen connection and checks that the
// peer's SHA-256 of what arrived equals ours, timing the transfer. Operators use it to see what a
// link (direct or relayed) carries; the NAT lab uses it to prove a punched connection moves data.
// Wire: the client sends an 8-byte big-endian length then the bytes; the server replies with the
// 32-byte digest. The server refuses lengths above its maximum and closes on anything short.
import { createHash, randomBytes } from 'node:crypto'
import type { ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { byteStream } from '@libp2p/utils'

export const LINK_PROBE_PROTOCOL = '/hypha/link-probe/1.0.0'
const CHUNK_BYTES = 64 * 1024
const DIGEST_BYTES = 32

export interface LinkProbeResult {
  bytes: number
  /** Hex SHA-256 of the bytes sent, and of what the peer received. */
  sha256: string
  remoteSha256: string
  matches: boolean
  durationMs: number
  /** MiB per second, send start to digest received. */
  mibPerSecond: number
}

export class LinkProbeTooLargeError extends Error {
  static override readonly name = 'LinkProbeTooLargeError'
  override readonly name = 'LinkProbeTooLargeError'
}

export interface LinkProbeInit {
  /** Largest probe this node accepts from a peer (and sends). */
  maxBytes: number
  timeoutMs?: number
}

export interface LinkProbeComponents {
  registrar: Registrar
  logger: ComponentLogger
}

export class LinkProbe implements Startable {
  readonly #components: LinkProbeComponents
  readonly #init: Required<LinkProbeInit>
  readonly #log: Logger

  constructor(components: LinkProbeComponents, init: LinkProbeInit) {
    this.#components = components
    this.#init = { timeoutMs: 120_000, ...init }
    this.#log = components.logger.forComponent('hypha:connection:link-probe')
  }

  readonly [Symbol.toStringTag] = '@hypha/link-probe'

  async start(): Promise<void> {
    await this.#components.registrar.handle(LINK_PROBE_PROTOCOL, (stream) => this.#serve(stream), {
      maxInboundStreams: 2,
      runOnLimitedConnection: true,
    })
  }

  async stop(): Promise<void> {
    await this.#components.registrar.unhandle(LINK_PROBE_PROTOCOL)
  }

  /** Sends `bytes` random bytes over `connection` (relayed ones too) and checks the echo digest. */
  async probe(connection: Connection, bytes: number, options: { signal?: AbortSignal } = {}): Promise<LinkProbeResult> {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > this.#init.maxBytes) {
      throw new LinkProbeTooLargeError(`probe size ${bytes} is not within 0-${this.#init.maxBytes} bytes`)
    }
    const signal = AbortSignal.any([AbortSignal.timeout(this.#init.timeoutMs), ...(options.signal !== undefined ? [options.signal] : [])])
    const started = Date.now()
    const stream = await connection.newStream(LINK_PROBE_PROTOCOL, { signal, runOnLimitedConnection: true })
    try {
      const bs = byteStream(stream)
      const header = new Uint8Array(8)
      new DataView(header.buffer).setBigUint64(0, BigInt(bytes))
      await bs.write(header, { signal })
      const hash = createHash('sha256')
      for (let sent = 0; sent < bytes; sent += CHUNK_BYTES) {
        const chunk = randomBytes(Math.min(CHUNK_BYTES, bytes - sent))
        hash.update(chunk)
        await bs.write(chunk, { signal })
      }
      const remote = Buffer.from((await bs.read({ bytes: DIGEST_BYTES, signal })).subarray()).toString('hex')
      await stream.close({ signal }).catch(() => undefined)
      const sha256 = hash.digest('hex')
      const durationMs = Date.now() - started
      return { bytes, sha256, remoteSha256: remote, matches: remote === sha256, durationMs, mibPerSecond: bytes / 1_048_576 / Math.max(durationMs / 1000, 0.001) }
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  async #serve(stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(this.#init.timeoutMs)
    try {
      const bs = byteStream(stream)
      // the bytes may be a view into a larger (pooled) buffer: read them where they are
      const head = (await bs.read({ bytes: 8, signal })).subarray()
      const length = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0)
      if (length > BigInt(this.#init.maxBytes)) throw new LinkProbeTooLargeError(`probe of ${length} bytes exceeds ${this.#init.maxBytes}`)
      const hash = createHash('sha256')
      for (let left = Number(length); left > 0; ) {
        const chunk = await bs.read({ bytes: Math.min(CHUNK_BYTES, left), signal })
        for (const part of chunk) hash.update(part)
        left -= chunk.byteLength
      }
      await bs.write(hash.digest(), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.#log('probe from %p failed - %e', stream, err)
      stream.abort(err as Error)
    }
  }
}

export function linkProbe(init: LinkProbeInit): (components: LinkProbeComponents) => LinkProbe {
  return (components) => new LinkProbe(components, init)
}
