import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { record, taskStoreContract } from '../../test/fixtures/task-store-contract.js'
import { SqliteTaskStore, TaskStoreLockedError } from './sqlite-task-store.js'

let dir: string
let n = 0
const path = (): string => join(dir, `tasks-${n}.db`)

beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hypha-sqlite-store-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

taskStoreContract('SqliteTaskStore', {
  open: async () => {
    n++
    return new SqliteTaskStore(path())
  },
  reopen: async () => new SqliteTaskStore(path()),
})

describe('SqliteTaskStore', () => {
  it('creates its data dir and refuses a second process-level opener of the same file', async () => {
    const file = join(dir, 'nested', 'deeper', 'tasks.db')
    const store = new SqliteTaskStore(file)
    try {
      expect(() => new SqliteTaskStore(file)).toThrow(TaskStoreLockedError)
      expect(() => new SqliteTaskStore(file)).toThrow(/in use by another process .*data_dir/)
    } finally {
      await store.close()
    }
    // released on close
    await new SqliteTaskStore(file).close()
  })

  it('loses no acknowledged write when the process is SIGKILLed', async () => {
    const file = join(dir, 'killed.db')
    const storeModule = fileURLToPath(new URL('./sqlite-task-store.js', import.meta.url))
    // a writer that acknowledges each insert (after its commit) on stdout, and never stops by itself
    const script = `
      const { SqliteTaskStore } = await import(${JSON.stringify(storeModule)})
      const store = new SqliteTaskStore(${JSON.stringify(file)})
      for (let i = 0; ; i++) {
        const record = { id: 't' + i, executor: 'echo', inputSize: 1, inputKind: 'text', inputDigest: 'd', maxAttempts: 1, state: 'pending', attempts: 0, createdAt: 1, updatedAt: 1 }
        await store.insert(record, new Uint8Array([i % 256]))
        process.stdout.write(i + '\\n')
      }`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let acked = -1
    let buffered = ''
    child.stdout.setEncoding('utf8')
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (text: string) => {
        buffered += text
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) acked = Number(line)
        if (acked >= 200) resolve()
      })
    })
    child.kill('SIGKILL')
    await once(child, 'exit')
    const store = new SqliteTaskStore(file)
    try {
      for (const i of [0, Math.floor(acked / 2), acked]) {
        expect(await store.get(`t${i}`)).toMatchObject({ id: `t${i}`, state: 'pending' })
        expect(await store.input(`t${i}`)).toEqual(new Uint8Array([i % 256]))
      }
      expect((await store.counts()).pending).toBeGreaterThanOrEqual(acked + 1)
    } finally {
      await store.close()
    }
  })

  it('refuses a file written by a newer schema', async () => {
    const file = join(dir, 'newer.db')
    await new SqliteTaskStore(file).close()
    const { DatabaseSync } = await import('node:sqlite')
    const db = new DatabaseSync(file)
    db.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    expect(() => new SqliteTaskStore(file)).toThrow(/schema version 99, newer than this scheduler's 1/)
  })

  it('answers list and counts from indexes at 20k tasks', async () => {
    const store = new SqliteTaskStore(join(dir, 'many.db'))
    try {
      await Promise.all(Array.from({ length: 20_000 }, (_, i) => store.insert(record(`m${i}`, { state: i % 10 === 0 ? 'pending' : 'succeeded' }), new Uint8Array(8))))
      expect((await store.list({ states: ['pending'], limit: 3 })).map((t) => t.id)).toEqual(['m0', 'm10', 'm20'])
      expect((await store.counts()).pending).toBe(2_000)
    } finally {
      await store.close()
    }
  })
})
