// Where a node keeps the named payloads it serves and receives: one directory, a file per
// payload, its sha256 beside it, and incomplete uploads under .partial/ (named by the payload's
// digest, so a retried push of the same bytes resumes where the broken one stopped).
import { createHash, type Hash } from 'node:crypto'
import { createReadStream, createWriteStream, type ReadStream, type WriteStream } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { PAYLOAD_NAME } from './codec.js'

export interface PayloadInfo {
  size: number
  sha256: string
}

export class DirectoryBulkStore {
  readonly directory: string

  constructor(directory: string) {
    this.directory = directory
  }

  async init(): Promise<void> {
    await mkdir(join(this.directory, '.partial'), { recursive: true })
    await mkdir(join(this.directory, '.sha256'), { recursive: true })
  }

  /** Copies a file into the store under `name`, hashing it on the way. */
  async importFile(name: string, source: string): Promise<PayloadInfo> {
    const path = this.pathOf(name)
    const partial = `${path}.importing`
    const hash = createHash('sha256')
    let size = 0
    await pipeline(
      createReadStream(source),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk)
          size += chunk.byteLength
          yield chunk
        }
      },
      createWriteStream(partial),
    )
    return this.#install(name, partial, { size, sha256: hash.digest('hex') })
  }

  /** Stores `bytes` under `name` (replacing what was there), for payloads held in memory. */
  async writePayload(name: string, bytes: Uint8Array): Promise<PayloadInfo> {
    const partial = `${this.pathOf(name)}.importing`
    await writeFile(partial, bytes)
    return this.#install(name, partial, { size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') })
  }

  /** Moves a complete file in place under `name` with its digest beside it. */
  async #install(name: string, complete: string, info: PayloadInfo): Promise<PayloadInfo> {
    await writeFile(this.#digestPath(name), info.sha256)
    await rename(complete, this.pathOf(name))
    return info
  }

  /** Size and digest of a stored payload; undefined when there is none by that name. */
  async stat(name: string): Promise<PayloadInfo | undefined> {
    const path = this.pathOf(name)
    let size: number
    try {
      size = (await stat(path)).size
    } catch {
      return undefined
    }
    let sha256: string
    try {
      sha256 = (await readFile(this.#digestPath(name), 'utf8')).trim()
    } catch {
      // Put there by hand: hash it once and remember.
      sha256 = (await hashFile(path)).sha256
      await writeFile(this.#digestPath(name), sha256)
    }
    return { size, sha256 }
  }

  openRead(name: string, offset: number): ReadStream {
    return createReadStream(this.pathOf(name), { start: offset, highWaterMark: 256 * 1024 })
  }

  /** Bytes already received of an upload of exactly these bytes (0 when none). */
  async partialSize(info: PayloadInfo): Promise<number> {
    try {
      return Math.min((await stat(this.#partialPath(info))).size, info.size)
    } catch {
      return 0
    }
  }

  /**
   * Appends to the partial upload from `offset` (anything past it is cut off first), with a
   * sha256 already fed with the bytes before `offset`, to go on hashing what is written.
   */
  async openPartial(info: PayloadInfo, offset: number): Promise<{ file: WriteStream; hash: Hash }> {
    const path = this.#partialPath(info)
    if (offset === 0) await rm(path, { force: true })
    else await truncate(path, offset)
    const { hash } = await hashPrefix(path, offset)
    return { file: payloadWriter(path, offset), hash }
  }

  /**
   * Moves a finished upload in place under `name` when its size and the digest of what was
   * written (`received`, the hex sha256 of openPartial's hash) match `info`; otherwise drops it.
   */
  async commit(name: string, info: PayloadInfo, received: string): Promise<boolean> {
    const partial = this.#partialPath(info)
    const size = await stat(partial).then((s) => s.size, () => -1)
    if (size !== info.size || received !== info.sha256) {
      await rm(partial, { force: true })
      return false
    }
    await writeFile(this.#digestPath(name), info.sha256)
    await rename(partial, this.pathOf(name))
    return true
  }

  /** Deletes a stored payload and its digest; true when there was one. */
  async remove(name: string): Promise<boolean> {
    const path = this.pathOf(name)
    const existed = await stat(path).then(() => true, () => false)
    await rm(path, { force: true })
    await rm(this.#digestPath(name), { force: true })
    return existed
  }

  /**
   * Deletes payloads for which `accept(name)` holds, and incomplete uploads, last written
   * before `before` (epoch ms); returns how many files went. What a service keeps for a time
   * (task results) and uploads that were never finished do not pile up.
   */
  async sweep(before: number, accept: (name: string) => boolean): Promise<number> {
    let removed = 0
    const old = async (path: string): Promise<boolean> => (await stat(path).then((s) => s.mtimeMs, () => Number.POSITIVE_INFINITY)) < before
    for (const entry of await readdir(this.directory, { withFileTypes: true })) {
      if (!entry.isFile() || !PAYLOAD_NAME.safeParse(entry.name).success || !accept(entry.name)) continue
      if (await old(join(this.directory, entry.name))) {
        await this.remove(entry.name)
        removed++
      }
    }
    const partials = join(this.directory, '.partial')
    for (const name of await readdir(partials).catch(() => [] as string[])) {
      const path = join(partials, name)
      if (await old(path)) {
        await rm(path, { force: true })
        removed++
      }
    }
    return removed
  }

  pathOf(name: string): string {
    // The protocol checks names too; this keeps a direct caller from escaping the directory.
    return join(this.directory, PAYLOAD_NAME.parse(name))
  }

  #digestPath(name: string): string {
    return join(this.directory, '.sha256', PAYLOAD_NAME.parse(name))
  }

  #partialPath(info: PayloadInfo): string {
    return join(this.directory, '.partial', `${info.sha256}-${info.size}`)
  }
}

/**
 * The file a payload is written into from `offset` on (a resumed transfer keeps the bytes
 * before it). Its 1 MiB buffer lets writes batch while the next chunks arrive: with the 16 KiB
 * default every chunk waited for its own write, and a pull ran at ~155 instead of ~205 MB/s.
 */
export function payloadWriter(path: string, offset: number): WriteStream {
  return createWriteStream(path, { flags: offset === 0 ? 'w' : 'r+', start: offset, highWaterMark: 1024 * 1024 })
}

/** Size and sha256 of a file, read in one pass. */
export async function hashFile(path: string): Promise<PayloadInfo> {
  const { hash, size } = await hashPrefix(path)
  return { size, sha256: hash.digest('hex') }
}

/** Bytes read per call when hashing a file. */
const HASH_READ_BYTES = 1024 * 1024

/**
 * A sha256 fed with a file's first `end` bytes (all of it when undefined), to go on hashing what
 * follows. It reads into one buffer it reuses, since `hash.update` is done with a chunk when it
 * returns. A read stream would allocate a fresh buffer per read instead: at ~1.5 GB/s of hashing
 * that is garbage V8 lets pile up to its external-memory limit (64 MiB) before collecting it,
 * which was most of a push's RSS growth on the sending side and on a resuming receiver.
 */
export async function hashPrefix(path: string, end?: number): Promise<{ hash: Hash; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  if (end === 0) return { hash, size }
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.allocUnsafe(HASH_READ_BYTES)
    for (;;) {
      const want = end === undefined ? buffer.byteLength : Math.min(buffer.byteLength, end - size)
      if (want === 0) break
      const { bytesRead } = await file.read(buffer, 0, want, size)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
      size += bytesRead
    }
  } finally {
    await file.close()
  }
  return { hash, size }
}
