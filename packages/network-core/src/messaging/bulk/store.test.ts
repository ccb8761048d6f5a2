// DirectoryBulkStore on a temp directory: removal, the sweep of old payloads and unfinished uploads, payloads written from memory.
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DirectoryBulkStore, hashFile, hashPrefix } from './store.js'

let dir: string
let store: DirectoryBulkStore

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hypha-bulk-store-'))
  store = new DirectoryBulkStore(dir)
  await store.init()
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function payload(name: string, ageMs: number): Promise<void> {
  const source = join(dir, `${name}.src`)
  await writeFile(source, name)
  await store.importFile(name, source)
  await rm(source)
  const at = new Date(Date.now() - ageMs)
  await utimes(store.pathOf(name), at, at)
}

it('removes a payload with its digest', async () => {
  await payload('a.bin', 0)
  expect(await store.remove('a.bin')).toBe(true)
  expect(await store.stat('a.bin')).toBeUndefined()
  expect(await store.remove('a.bin')).toBe(false)
})

it('sweeps old payloads the caller accepts and old unfinished uploads, nothing else', async () => {
  const hour = 3_600_000
  await payload('result.old', 2 * hour)
  await payload('result.new', 0)
  await payload('other.old', 2 * hour)
  const stale = join(dir, '.partial', `${'0'.repeat(64)}-10`)
  const fresh = join(dir, '.partial', `${'1'.repeat(64)}-10`)
  await writeFile(stale, 'x')
  await writeFile(fresh, 'x')
  const old = new Date(Date.now() - 2 * hour)
  await utimes(stale, old, old)

  expect(await store.sweep(Date.now() - hour, (name) => name.startsWith('result.'))).toBe(2)
  expect(await store.stat('result.old')).toBeUndefined()
  expect(await store.stat('result.new')).toBeDefined()
  expect(await store.stat('other.old')).toBeDefined()
  expect(await store.partialSize({ size: 10, sha256: '0'.repeat(64) })).toBe(0)
  expect(await store.partialSize({ size: 10, sha256: '1'.repeat(64) })).toBe(1)
})

it('stores a payload held in memory with its size and digest, replacing an older one', async () => {
  await payload('input.x', 0)
  const bytes = new TextEncoder().encode('held in memory')
  const info = await store.writePayload('input.x', bytes)
  expect(info).toEqual({ size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') })
  expect(await store.stat('input.x')).toEqual(info)
  expect(await readFile(store.pathOf('input.x'), 'utf8')).toBe('held in memory')
})

describe('hashPrefix', () => {
  it('hashes exactly the first `end` bytes, across many reads of its reused buffer', async () => {
    const bytes = Buffer.alloc(2.5 * 1024 * 1024 + 7)
    for (let i = 0; i < bytes.byteLength; i++) bytes[i] = (i * 7919) % 251
    const path = join(dir, 'prefix.bin')
    await writeFile(path, bytes)
    for (const end of [1, 1024 * 1024, 1024 * 1024 + 1, 2 * 1024 * 1024 + 3, bytes.byteLength]) {
      const { hash, size } = await hashPrefix(path, end)
      expect(size).toBe(end)
      expect(hash.digest('hex')).toBe(createHash('sha256').update(bytes.subarray(0, end)).digest('hex'))
    }
    await expect(hashFile(path)).resolves.toEqual({ size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') })
    // past the end of the file: what is there
    expect((await hashPrefix(path, bytes.byteLength + 100)).size).toBe(bytes.byteLength)
  })
})
