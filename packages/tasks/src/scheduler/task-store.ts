// Where the scheduler keeps tasks. Every state change goes through `update`, an atomic
// read-modify-write, so a persistent store can replace the in-memory one without races.
import type { JsonValue, Requirements } from '../protocol/messages.js'

export type TaskState = 'pending' | 'assigned' | 'running' | 'succeeded' | 'failed'

export const FINISHED_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed'])

export interface TaskLease {
  id: string
  /** Peer id (string) of the worker holding the lease. */
  holder: string
  /** Epoch ms from the scheduler's clock. */
  expiresAt: number
}

export interface TaskProgress {
  fraction?: number
  message?: string
  at: number
}

export interface TaskRecord {
  id: string
  executor: string
  input: Uint8Array
  inputKind: 'text' | 'bytes'
  /** sha256 (hex) of the input: an idempotent re-submission must carry the same input. */
  inputDigest: string
  requirements?: Requirements
  timeoutMs?: number
  maxAttempts: number
  state: TaskState
  /** Assignments made so far (each is one attempt). */
  attempts: number
  /** The worker of the current or last attempt. */
  worker?: string
  lease?: TaskLease
  progress?: TaskProgress
  result?: JsonValue
  error?: string
  createdAt: number
  updatedAt: number
}

export interface TaskListOptions {
  states?: readonly TaskState[]
  /** At most this many, oldest first. */
  limit?: number
}

export interface TaskStore {
  /** Inserts unless a task with this id exists; returns the stored record either way. */
  insert(record: TaskRecord): Promise<{ inserted: boolean; record: TaskRecord }>
  get(id: string): Promise<TaskRecord | undefined>
  /**
   * Atomically replaces the record with `change(current)`. When `change` returns undefined (or
   * the task does not exist) nothing is written and undefined is returned; otherwise the new record.
   * `change` must be synchronous and must not mutate `current`.
   */
  update(id: string, change: (current: Readonly<TaskRecord>) => TaskRecord | undefined): Promise<TaskRecord | undefined>
  /** Oldest first. */
  list(options?: TaskListOptions): Promise<TaskRecord[]>
}
