// The embedded TaskStore: one SQLite file through Node's built-in `node:sqlite` (no native addon
// to compile), in WAL mode. Durability is a choice (`durability`):
//  - 'crash' (default, synchronous=NORMAL): every commit is in the WAL file before its promise
//    settles, so a process crash (SIGKILL, OOM kill, a panic) loses nothing; an OS crash or a
//    power cut may lose the last commits.
//  - 'power-loss' (synchronous=FULL): each commit is also fsynced, ~0.2-0.4 ms of blocked event
//    loop per commit on this machine: ~15% fewer tasks a second (docs/benchmarks.md).
//
// Group commit: every write of one event-loop turn shares one transaction. The first write of a turn opens it (BEGIN IMMEDIATE), writes run at once inside it
// (each is atomic: node:sqlite is synchronous, nothing interleaves), and COMMIT runs on
// setImmediate; each write's promise settles only after that COMMIT, so nothing is reported
// done before it is on disk.
//
// The file is opened with an exclusive lock: a second scheduler pointed at the same data dir is
// refused with a clear error instead of both handing out the same tasks.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { emptyCounts, type TaskCounts, type TaskListOptions, type TaskRecord, type TaskState, type TaskStore } from './task-store.js'

const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  lease_expires_at INTEGER,
  updated_at INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state, seq);
CREATE INDEX IF NOT EXISTS tasks_by_lease ON tasks (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (updated_at) WHERE state IN ('succeeded', 'failed');
CREATE TABLE IF NOT EXISTS task_inputs (seq INTEGER PRIMARY KEY, input BLOB NOT NULL);
`

/** The data dir's database is held by another process (another scheduler on the same dir). */
export class TaskStoreLockedError extends Error {
  override readonly name = 'TaskStoreLockedError'

  constructor(path: string) {
    super(`task store ${path} is in use by another process (is another scheduler running on this data_dir?)`)
  }
}

interface Row {
  record: string
}

export type TaskStoreDurability = 'crash' | 'power-loss'

export interface SqliteTaskStoreOptions {
  /** @default 'crash' */
  durability?: TaskStoreDurability
}

export class SqliteTaskStore implements TaskStore {
  readonly path: string
  readonly durability: TaskStoreDurability
  readonly #db: DatabaseSync
  readonly #statements: Record<string, StatementSync>
  readonly #listStatements = new Map<string, StatementSync>()
  #batch: { commit: Promise<void> } | undefined
  #closed = false

  constructor(path: string, options: SqliteTaskStoreOptions = {}) {
    this.path = path
    this.durability = options.durability ?? 'crash'
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.#db = new DatabaseSync(path)
    try {
      const synchronous = this.durability === 'power-loss' ? 'FULL' : 'NORMAL'
      this.#db.exec(`PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous};`)
      // takes the exclusive lock now (locking_mode applies from the next write)
      this.#db.exec('BEGIN IMMEDIATE')
      this.#db.exec(SCHEMA)
      this.#migrate()
      this.#db.exec('COMMIT')
    } catch (err) {
      this.#db.close()
      // (node:sqlite's errors come from another realm under some runners: no instanceof)
      if (/database is locked|busy/i.test(String((err as { message?: unknown }).message))) throw new TaskStoreLockedError(path)
      throw err
    }
    const db = this.#db
    this.#statements = {
      insert: db.prepare('INSERT INTO tasks (id, state, lease_expires_at, updated_at, record) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'),
      insertInput: db.prepare('INSERT INTO task_inputs (seq, input) VALUES (?, ?)'),
      get: db.prepare('SELECT record FROM tasks WHERE id = ?'),
      input: db.prepare('SELECT i.input AS input FROM tasks t JOIN task_inputs i ON i.seq = t.seq WHERE t.id = ?'),
      update: db.prepare('UPDATE tasks SET state = ?, lease_expires_at = ?, updated_at = ?, record = ? WHERE id = ?'),
      expired: db.prepare('SELECT record FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?'),
      counts: db.prepare('SELECT state, COUNT(*) AS n FROM tasks GROUP BY state'),
      pruneInputs: db.prepare(`DELETE FROM task_inputs WHERE seq IN (SELECT seq FROM tasks WHERE state IN ('succeeded', 'failed') AND updated_at < ? ORDER BY updated_at LIMIT ?)`),
      prune: db.prepare(`DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE state IN ('succeeded', 'failed') AND updated_at < ? ORDER BY updated_at LIMIT ?)`),
    }
  }

  async insert(record: TaskRecord, input: Uint8Array): Promise<{ inserted: boolean; record: TaskRecord }> {
    return this.#write(() => {
      const { changes, lastInsertRowid } = this.#statements.insert!.run(record.id, record.state, leaseExpiry(record), record.updatedAt, JSON.stringify(record))
      if (Number(changes) === 0) return { inserted: false, record: this.#get(record.id) as TaskRecord }
      this.#statements.insertInput!.run(lastInsertRowid, input)
      return { inserted: true, record: structuredClone(record) }
    })
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    this.#open()
    return this.#get(id)
  }

  async input(id: string): Promise<Uint8Array | undefined> {
    this.#open()
    const row = this.#statements.input!.get(id) as { input: Uint8Array } | undefined
    return row?.input
  }

  async update(id: string, change: (current: Readonly<TaskRecord>) => TaskRecord | undefined): Promise<TaskRecord | undefined> {
    this.#open()
    const current = this.#get(id)
    if (current === undefined) return undefined
    const next = change(current)
    if (next === undefined) return undefined
    if (next.id !== id) throw new Error(`a task update may not change its id (${id} -> ${next.id})`)
    return this.#write(() => {
      this.#statements.update!.run(next.state, leaseExpiry(next), next.updatedAt, JSON.stringify(next), id)
      return structuredClone(next)
    })
  }

  async list(options: TaskListOptions = {}): Promise<TaskRecord[]> {
    this.#open()
    const where: string[] = []
    const params: Array<string | number> = []
    if (options.states !== undefined) {
      if (options.states.length === 0) return []
      where.push(`state IN (${options.states.map(() => '?').join(', ')})`)
      params.push(...options.states)
    }
    const newest = options.newestFirst === true
    if (options.after !== undefined) {
      // an id no longer stored pages from the start, as on the first page
      where.push(newest ? 'seq < COALESCE((SELECT seq FROM tasks WHERE id = ?), 9223372036854775807)' : 'seq > COALESCE((SELECT seq FROM tasks WHERE id = ?), 0)')
      params.push(options.after)
    }
    const limit = options.limit ?? -1
    const sql = `SELECT record FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${newest ? 'DESC' : 'ASC'} LIMIT ?`
    return (this.#listStatement(sql).all(...params, limit) as unknown as Row[]).map(parse)
  }

  async expiredLeases(now: number, limit: number): Promise<TaskRecord[]> {
    this.#open()
    return (this.#statements.expired!.all(now, limit) as unknown as Row[]).map(parse)
  }

  async counts(): Promise<TaskCounts> {
    this.#open()
    const counts = emptyCounts()
    for (const row of this.#statements.counts!.all() as unknown as Array<{ state: TaskState; n: number }>) counts[row.state] = Number(row.n)
    return counts
  }

  async prune(before: number, limit: number): Promise<number> {
    return this.#write(() => {
      this.#statements.pruneInputs!.run(before, limit)
      return Number(this.#statements.prune!.run(before, limit).changes)
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.#batch?.commit.catch(() => undefined)
    this.#closed = true
    this.#db.close()
  }

  /** One prepared statement per distinct query (a handful: the state filters the engine and API use). */
  #listStatement(sql: string): StatementSync {
    let statement = this.#listStatements.get(sql)
    if (statement === undefined) {
      if (this.#listStatements.size >= 64) this.#listStatements.clear()
      statement = this.#db.prepare(sql)
      this.#listStatements.set(sql, statement)
    }
    return statement
  }

  #get(id: string): TaskRecord | undefined {
    const row = this.#statements.get!.get(id) as Row | undefined
    return row === undefined ? undefined : parse(row)
  }

  /** Runs `op` inside this turn's transaction; resolves once that transaction has committed. */
  #write<T>(op: () => T): Promise<T> {
    this.#open()
    if (this.#batch === undefined) {
      this.#db.exec('BEGIN IMMEDIATE')
      const commit = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          this.#batch = undefined
          try {
            this.#db.exec('COMMIT')
            resolve()
          } catch (err) {
            try { this.#db.exec('ROLLBACK') } catch { /* already rolled back */ }
            reject(err as Error)
          }
        })
      })
      this.#batch = { commit }
    }
    let result: T
    try {
      result = op()
    } catch (err) {
      return Promise.reject(err as Error)
    }
    return this.#batch.commit.then(() => result)
  }

  #open(): void {
    if (this.#closed) throw new Error(`task store ${this.path} is closed`)
  }

  #migrate(): void {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined
    if (row === undefined) {
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION))
      return
    }
    if (Number(row.value) > SCHEMA_VERSION) {
      throw new Error(`task store ${this.path} has schema version ${row.value}, newer than this scheduler's ${SCHEMA_VERSION}: upgrade the scheduler`)
    }
  }
}

function parse(row: Row): TaskRecord {
  return JSON.parse(row.record) as TaskRecord
}

function leaseExpiry(record: TaskRecord): number | null {
  return record.state === 'assigned' || record.state === 'running' ? (record.lease?.expiresAt ?? null) : null
}
