// The in-memory TaskStore: a Map in insertion order (so `list` is oldest first). Records are
// copied in and out so callers cannot change stored state behind the store's back, except the
// input bytes, which are shared (never written after submission) so large inputs are not copied.
import type { TaskListOptions, TaskRecord, TaskStore } from './task-store.js'

const NO_BYTES = new Uint8Array(0)

function copy(record: TaskRecord): TaskRecord {
  return { ...structuredClone({ ...record, input: NO_BYTES }), input: record.input }
}

export class MemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, TaskRecord>()

  async insert(record: TaskRecord): Promise<{ inserted: boolean; record: TaskRecord }> {
    const existing = this.#tasks.get(record.id)
    if (existing !== undefined) return { inserted: false, record: copy(existing) }
    this.#tasks.set(record.id, copy(record))
    return { inserted: true, record: copy(record) }
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const record = this.#tasks.get(id)
    return record === undefined ? undefined : copy(record)
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
    const out: TaskRecord[] = []
    for (const record of this.#tasks.values()) {
      if (out.length >= limit) break
      if (states === undefined || states.has(record.state)) out.push(copy(record))
    }
    return out
  }

  get size(): number {
    return this.#tasks.size
  }
}
