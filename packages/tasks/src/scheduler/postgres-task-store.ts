// The shared TaskStore: PostgreSQL through `pg` (node-postgres), for more than one scheduler
// replica on one task set (fail-over: scheduler/leadership.ts). Every state change is one
// transaction with the task's row locked (SELECT ... FOR UPDATE), so replicas never hand one
// task to two workers; commits are PostgreSQL's (durable across crashes and power cuts).
//
// Tables live in one schema (default `hypha`), created on first use. The connection string comes
// from the config (`store = "postgres://host/db"`); the password from PGPASSWORD or the URL.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { emptyCounts, type TaskCounts, type TaskListOptions, type TaskRecord, type TaskState, type TaskStore } from './task-store.js'

const SCHEMA_VERSION = 1

export interface PostgresTaskStoreOptions {
  /** postgres://user@host:port/db (libpq URL; PG* environment variables fill what it omits). */
  connectionString: string
  /** Schema holding the tables. @default 'hypha' */
  schema?: string
  /** Connections in the pool. @default 10 */
  poolSize?: number
}

interface Row {
  record: string
}

export class PostgresTaskStore implements TaskStore {
  readonly schema: string
  readonly pool: pg.Pool
  /** This task set's id (random, made with the schema): replicas on one database share it. */
  clusterId = ''
  readonly #t: { tasks: string; inputs: string; meta: string }
  #closed = false

  private constructor(options: PostgresTaskStoreOptions) {
    this.schema = options.schema ?? 'hypha'
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) throw new Error(`schema "${this.schema}": expected lower-case letters, digits and _`)
    this.#t = { tasks: `${this.schema}.tasks`, inputs: `${this.schema}.task_inputs`, meta: `${this.schema}.meta` }
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 })
    // an idle client losing its server (a restart) must not crash the process
    this.pool.on('error', () => undefined)
  }

  /** Connects, creates the schema when absent, and checks its version. */
  static async open(options: PostgresTaskStoreOptions): Promise<PostgresTaskStore> {
    const store = new PostgresTaskStore(options)
    try {
      await store.#migrate()
    } catch (err) {
      await store.pool.end()
      throw err
    }
    return store
  }

  async insert(record: TaskRecord, input: Uint8Array): Promise<{ inserted: boolean; record: TaskRecord }> {
    return this.#transaction(async (client) => {
      const inserted = await client.query<{ seq: string }>(
        `INSERT INTO ${this.#t.tasks} (id, state, lease_expires_at, updated_at, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING seq`,
        [record.id, record.state, leaseExpiry(record), record.updatedAt, JSON.stringify(record)],
      )
      const seq = inserted.rows[0]?.seq
      if (seq === undefined) {
        const existing = await client.query<Row>(`SELECT record FROM ${this.#t.tasks} WHERE id = $1`, [record.id])
        return { inserted: false, record: parse(existing.rows[0] as Row) }
      }
      await client.query(`INSERT INTO ${this.#t.inputs} (seq, input) VALUES ($1, $2)`, [seq, Buffer.from(input.buffer, input.byteOffset, input.byteLength)])
      return { inserted: true, record: structuredClone(record) }
    })
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.#query<Row>(`SELECT record FROM ${this.#t.tasks} WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : parse(rows[0])
  }

  async input(id: string): Promise<Uint8Array | undefined> {
    const { rows } = await this.#query<{ input: Buffer }>(`SELECT i.input FROM ${this.#t.tasks} t JOIN ${this.#t.inputs} i ON i.seq = t.seq WHERE t.id = $1`, [id])
    return rows[0] === undefined ? undefined : new Uint8Array(rows[0].input)
  }

  async update(id: string, change: (current: Readonly<TaskRecord>) => TaskRecord | undefined): Promise<TaskRecord | undefined> {
    return this.#transaction(async (client) => {
      const { rows } = await client.query<Row>(`SELECT record FROM ${this.#t.tasks} WHERE id = $1 FOR UPDATE`, [id])
      if (rows[0] === undefined) return undefined
      const next = change(parse(rows[0]))
      if (next === undefined) return undefined
      if (next.id !== id) throw new Error(`a task update may not change its id (${id} -> ${next.id})`)
      await client.query(`UPDATE ${this.#t.tasks} SET state = $1, lease_expires_at = $2, updated_at = $3, record = $4 WHERE id = $5`,
        [next.state, leaseExpiry(next), next.updatedAt, JSON.stringify(next), id])
      return structuredClone(next)
    })
  }

  async list(options: TaskListOptions = {}): Promise<TaskRecord[]> {
    if (options.states !== undefined && options.states.length === 0) return []
    // an id no longer stored pages from the start, as on the first page
    const page = options.newestFirst === true
      ? { after: `seq < COALESCE((SELECT seq FROM ${this.#t.tasks} WHERE id = $2), 9223372036854775807)`, order: 'DESC' }
      : { after: `seq > COALESCE((SELECT seq FROM ${this.#t.tasks} WHERE id = $2), 0)`, order: 'ASC' }
    const { rows } = await this.#query<Row>(
      `SELECT record FROM ${this.#t.tasks}
       WHERE ($1::text[] IS NULL OR state = ANY($1::text[]))
         AND ($2::text IS NULL OR ${page.after})
       ORDER BY seq ${page.order} LIMIT $3`,
      [options.states ?? null, options.after ?? null, options.limit ?? null],
    )
    return rows.map(parse)
  }

  async expiredLeases(now: number, limit: number): Promise<TaskRecord[]> {
    const { rows } = await this.#query<Row>(
      `SELECT record FROM ${this.#t.tasks} WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= $1 ORDER BY lease_expires_at LIMIT $2`, [now, limit])
    return rows.map(parse)
  }

  async counts(): Promise<TaskCounts> {
    const counts = emptyCounts()
    const { rows } = await this.#query<{ state: TaskState; n: string }>(`SELECT state, COUNT(*) AS n FROM ${this.#t.tasks} GROUP BY state`, [])
    for (const row of rows) counts[row.state] = Number(row.n)
    return counts
  }

  async prune(before: number, limit: number): Promise<number> {
    const { rowCount } = await this.#query(
      `WITH doomed AS (SELECT seq FROM ${this.#t.tasks} WHERE state IN ('succeeded', 'failed') AND updated_at < $1 ORDER BY updated_at LIMIT $2),
            inputs AS (DELETE FROM ${this.#t.inputs} WHERE seq IN (SELECT seq FROM doomed))
       DELETE FROM ${this.#t.tasks} WHERE seq IN (SELECT seq FROM doomed)`, [before, limit])
    return rowCount ?? 0
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.pool.end()
  }

  #query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#closed) return Promise.reject(new Error('task store is closed'))
    return this.pool.query<R>(sql, params)
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error('task store is closed')
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
  }

  async #migrate(): Promise<void> {
    await this.#transaction(async (client) => {
      // one migrator at a time when replicas start together
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hypha-migrate:${this.schema}`])
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t.meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t.tasks} (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        lease_expires_at BIGINT,
        updated_at BIGINT NOT NULL,
        record TEXT NOT NULL)`)
      await client.query(`CREATE INDEX IF NOT EXISTS tasks_by_state ON ${this.#t.tasks} (state, seq)`)
      await client.query(`CREATE INDEX IF NOT EXISTS tasks_by_lease ON ${this.#t.tasks} (lease_expires_at) WHERE lease_expires_at IS NOT NULL`)
      await client.query(`CREATE INDEX IF NOT EXISTS tasks_finished ON ${this.#t.tasks} (updated_at) WHERE state IN ('succeeded', 'failed')`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t.inputs} (seq BIGINT PRIMARY KEY, input BYTEA NOT NULL)`)
      const { rows } = await client.query<{ key: string; value: string }>(`SELECT key, value FROM ${this.#t.meta}`)
      const meta = new Map(rows.map((r) => [r.key, r.value]))
      const version = meta.get('schema_version')
      if (version === undefined) {
        await client.query(`INSERT INTO ${this.#t.meta} (key, value) VALUES ('schema_version', $1), ('cluster_id', $2)`, [String(SCHEMA_VERSION), randomUUID()])
      } else if (Number(version) > SCHEMA_VERSION) {
        throw new Error(`task store schema ${this.schema} has version ${version}, newer than this scheduler's ${SCHEMA_VERSION}: upgrade the scheduler`)
      }
      const cluster = await client.query<{ value: string }>(`SELECT value FROM ${this.#t.meta} WHERE key = 'cluster_id'`)
      this.clusterId = cluster.rows[0]?.value ?? ''
    })
  }
}

function parse(row: Row): TaskRecord {
  return JSON.parse(row.record) as TaskRecord
}

function leaseExpiry(record: TaskRecord): number | null {
  return record.state === 'assigned' || record.state === 'running' ? (record.lease?.expiresAt ?? null) : null
}
