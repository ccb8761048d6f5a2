// Which scheduler replica runs the allocation loop (announcements, lease expiry, pruning) for a
// task set. With an embedded store there is one replica and it always leads. With PostgreSQL the
// leader is the replica holding a session-level advisory lock: when its process dies, its
// database session ends, the lock is released at once, and a standby polling for it leads.
// Every replica serves reads, submissions and the workers' requests (the store's row locks
// make those safe from any replica); only the loop is the leader's.
import { TypedEventEmitter } from '@libp2p/interface'
import pg from 'pg'

export interface LeadershipEvents {
  /** Leading now (true) or not any more (false). */
  change: CustomEvent<boolean>
}

export interface Leadership extends TypedEventEmitter<LeadershipEvents> {
  readonly leading: boolean
  /** Peer id of the replica leading now, when known. */
  leader(): Promise<string | undefined>
  start(): Promise<void>
  stop(): Promise<void>
}

/** The only replica: leads from start to stop. */
export class SoleLeadership extends TypedEventEmitter<LeadershipEvents> implements Leadership {
  #leading = false
  readonly #self: string

  constructor(self: string) {
    super()
    this.#self = self
  }

  get leading(): boolean {
    return this.#leading
  }

  async leader(): Promise<string | undefined> {
    return this.#leading ? this.#self : undefined
  }

  async start(): Promise<void> {
    this.#leading = true
    this.safeDispatchEvent('change', { detail: true })
  }

  async stop(): Promise<void> {
    this.#leading = false
  }
}

export interface PostgresLeadershipOptions {
  connectionString: string
  /** The task set's schema (one lock per schema). */
  schema: string
  /** This replica's peer id (recorded as the leader while it leads). */
  self: string
  /** The task store's pool, for reading who leads (the lock itself needs a session of its own). */
  pool: pg.Pool
  /** How often a standby tries for the lock and a leader checks its session. @default 1_000 */
  intervalMs?: number
  /** Errors of the leadership session (logged by the caller; never thrown). */
  onError?: (err: unknown) => void
}

export class PostgresLeadership extends TypedEventEmitter<LeadershipEvents> implements Leadership {
  readonly #options: PostgresLeadershipOptions
  readonly #key: string
  #client: pg.Client | undefined
  #leading = false
  #timer: ReturnType<typeof setInterval> | undefined
  #ticking: Promise<void> | undefined
  #stopped = true

  constructor(options: PostgresLeadershipOptions) {
    super()
    this.#options = options
    this.#key = `hypha-leader:${options.schema}`
  }

  get leading(): boolean {
    return this.#leading
  }

  async leader(): Promise<string | undefined> {
    if (this.#leading) return this.#options.self
    try {
      const { rows } = await this.#options.pool.query<{ value: string }>(`SELECT value FROM ${this.#options.schema}.meta WHERE key = 'leader'`)
      return rows[0]?.value
    } catch (err) {
      this.#options.onError?.(err)
      return undefined
    }
  }

  async start(): Promise<void> {
    this.#stopped = false
    await this.#tick()
    this.#timer = setInterval(() => { void this.#tick() }, this.#options.intervalMs ?? 1_000)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    await this.#ticking
    // ending the session releases the lock: a standby leads on its next try
    const client = this.#client
    this.#client = undefined
    this.#setLeading(false)
    await client?.end().catch(() => undefined)
  }

  async #tick(): Promise<void> {
    if (this.#ticking !== undefined || this.#stopped) return
    this.#ticking = this.#try().finally(() => { this.#ticking = undefined })
    await this.#ticking
  }

  async #try(): Promise<void> {
    try {
      if (this.#client === undefined) {
        const client = new pg.Client({ connectionString: this.#options.connectionString })
        client.on('error', (err) => {
          // the session is gone, and the lock with it: stop leading at once
          this.#options.onError?.(err)
          if (this.#client === client) this.#client = undefined
          this.#setLeading(false)
        })
        await client.connect()
        this.#client = client
      }
      const client = this.#client
      if (this.#leading) {
        await client.query('SELECT 1') // the session (and so the lock) is still there
        return
      }
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [this.#key])
      if (rows[0]?.locked === true && !this.#stopped) {
        await client.query(`INSERT INTO ${this.#options.schema}.meta (key, value) VALUES ('leader', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [this.#options.self])
        this.#setLeading(true)
      }
    } catch (err) {
      this.#options.onError?.(err)
      const client = this.#client
      this.#client = undefined
      this.#setLeading(false)
      await client?.end().catch(() => undefined)
    }
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return
    this.#leading = leading
    this.safeDispatchEvent('change', { detail: leading })
  }
}
