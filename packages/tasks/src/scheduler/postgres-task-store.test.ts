// The PostgreSQL store against a real server (a throw-away cluster, never a mock).
import { type PostgresCluster, startPostgres } from '../../test/fixtures/postgres-cluster.js'
import { record, taskStoreContract } from '../../test/fixtures/task-store-contract.js'
import { PostgresLeadership } from './leadership.js'
import { PostgresTaskStore } from './postgres-task-store.js'

let cluster: PostgresCluster
let n = 0

beforeAll(async () => { cluster = await startPostgres() }, 120_000)
afterAll(async () => { await cluster?.stop() })

taskStoreContract('PostgresTaskStore', {
  open: async () => {
    n++
    return PostgresTaskStore.open({ connectionString: cluster.url, schema: `contract_${n}` })
  },
  reopen: async () => PostgresTaskStore.open({ connectionString: cluster.url, schema: `contract_${n}` }),
})

describe('PostgresTaskStore', () => {
  it('gives replicas on one schema one cluster id, and hands each pending task to one of them only', async () => {
    const [a, b] = await Promise.all([
      PostgresTaskStore.open({ connectionString: cluster.url, schema: 'replicas' }),
      PostgresTaskStore.open({ connectionString: cluster.url, schema: 'replicas' }),
    ])
    try {
      expect(a.clusterId).toMatch(/^[0-9a-f-]{36}$/)
      expect(b.clusterId).toBe(a.clusterId)
      await a.insert(record('t'), new Uint8Array([1]))
      const claim = (store: PostgresTaskStore, who: string) => store.update('t', (t) => (t.state === 'pending' ? { ...t, state: 'assigned', worker: who } : undefined))
      const results = await Promise.all([...Array.from({ length: 10 }, () => claim(a, 'a')), ...Array.from({ length: 10 }, () => claim(b, 'b'))])
      expect(results.filter((r) => r !== undefined)).toHaveLength(1)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('refuses a bad schema name and a newer schema version', async () => {
    await expect(PostgresTaskStore.open({ connectionString: cluster.url, schema: 'Robert"; DROP' })).rejects.toThrow(/expected lower-case/)
    const store = await PostgresTaskStore.open({ connectionString: cluster.url, schema: 'newer' })
    await store.pool.query("UPDATE newer.meta SET value = '99' WHERE key = 'schema_version'")
    await store.close()
    await expect(PostgresTaskStore.open({ connectionString: cluster.url, schema: 'newer' })).rejects.toThrow(/version 99, newer/)
  })
})

describe('PostgresLeadership', () => {
  it('lets one replica lead at a time and hands over when the leader goes', async () => {
    const store = await PostgresTaskStore.open({ connectionString: cluster.url, schema: 'leaders' })
    const make = (self: string): PostgresLeadership => new PostgresLeadership({ connectionString: cluster.url, schema: 'leaders', self, pool: store.pool, intervalMs: 50 })
    const a = make('peer-a')
    const b = make('peer-b')
    try {
      await a.start()
      await b.start()
      expect([a.leading, b.leading]).toEqual([true, false])
      expect(await b.leader()).toBe('peer-a')
      const changed = new Promise<boolean>((resolve) => b.addEventListener('change', (e) => resolve(e.detail), { once: true }))
      const started = Date.now()
      await a.stop()
      expect(await changed).toBe(true)
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(await a.leader()).toBe('peer-b')
    } finally {
      await Promise.all([a.stop(), b.stop(), store.close()])
    }
  })
})
