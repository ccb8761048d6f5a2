// The in-memory TaskStore (tests, `store = "memory"`): a Map in insertion order, so listing is in
// submission order. Records are copied in and out so callers cannot change stored state behind
// the store's back; input bytes are shared (never written after submission).
import { emptyCounts, FINISHED_STATES, LEASED_STATES, type TaskCounts, type TaskListOptions, type TaskRecord, type TaskStore } from './task-store.js'

const copy = (record: TaskRecord): TaskRecord => structuredClone(record)

export class MemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, TaskRecord>()
  readonly #inputs = new Map<string, Uint8Array>()

  async insert(record: TaskRecord, input: Uint8Array): Promise<{ inserted: boolean; record: TaskRecord }> {
    const existing = this.#tasks.get(record.id)
    if (existing !== undefined) return { inserted: false, record: copy(existing) }
    this.#tasks.set(record.id, copy(record))
    this.#inputs.set(record.id, input)
    return { inserted: true, record: copy(record) }
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const record = this.#tasks.get(id)
    return record === undefined ? undefined : copy(record)
  }

  async input(id: string): Promise<Uint8Array | undefined> {
    return this.#inputs.get(id)
  }

  async update(id: string, change: (current: Readonly<TaskRecord>) => TaskRecord | undefined): Promise<TaskRecord | undefined> {
    const current = this.#tasks.get(id)
    if (current === undefined) return undefined
    const next = change(copy(current))
    if (next === undefined) return undefined
    if (next.id !== id) throw new Error(`a task update may not change its id (${id} -> ${next.id})`)
    this.#tasks.set(id, copy(next))
    return copy(next)
  }

  async list(options: TaskListOptions = {}): Promise<TaskRecord[]> {
    const states = options.states === undefined ? undefined : new Set(options.states)
    const limit = options.limit ?? Number.POSITIVE_INFINITY
    let skipping = options.after !== undefined && this.#tasks.has(options.after)
    const out: TaskRecord[] = []
    const records = options.newestFirst === true ? [...this.#tasks.values()].reverse() : this.#tasks.values()
    for (const record of records) {
      if (out.length >= limit) break
      if (skipping) {
        if (record.id === options.after) skipping = false
        continue
      }
      if (states === undefined || states.has(record.state)) out.push(copy(record))
    }
    return out
  }

  async expiredLeases(now: number, limit: number): Promise<TaskRecord[]> {
    const expired = [...this.#tasks.values()].filter((r) => LEASED_STATES.includes(r.state) && r.lease !== undefined && r.lease.expiresAt <= now)
    expired.sort((a, b) => (a.lease?.expiresAt ?? 0) - (b.lease?.expiresAt ?? 0))
    return expired.slice(0, limit).map(copy)
  }

  async counts(): Promise<TaskCounts> {
    const counts = emptyCounts()
    for (const record of this.#tasks.values()) counts[record.state]++
    return counts
  }

  async prune(before: number, limit: number): Promise<number> {
    let pruned = 0
    for (const [id, record] of this.#tasks) {
      if (pruned >= limit) break
      if (FINISHED_STATES.has(record.state) && record.updatedAt < before) {
        this.#tasks.delete(id)
        this.#inputs.delete(id)
        pruned++
      }
    }
    return pruned
  }

  async close(): Promise<void> {}

  get size(): number {
    return this.#tasks.size
  }
}
