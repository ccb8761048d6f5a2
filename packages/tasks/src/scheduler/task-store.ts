// Where the scheduler keeps tasks. A record never holds the input bytes (they are written once
// at insert and read only when a worker fetches them), so listing and state changes stay cheap
// however large the inputs are. Every state change goes through `update`, an atomic
// read-modify-write: one transaction in a persistent store.
import type { JsonValue, Requirements, ResultPayload } from '../protocol/messages.js'

export type TaskState = 'pending' | 'assigned' | 'running' | 'succeeded' | 'failed'

export const TASK_STATES: readonly TaskState[] = ['pending', 'assigned', 'running', 'succeeded', 'failed']
export const FINISHED_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed'])
/** States in which a worker holds a lease on the task. */
export const LEASED_STATES: readonly TaskState[] = ['assigned', 'running']

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
  /** Byte length of the input (the bytes themselves: `TaskStore.input`). */
  inputSize: number
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
  /** A result delivered as a file: the bulk payload `name` in the scheduler's payload directory. */
  resultPayload?: ResultPayload & { name: string }
  error?: string
  createdAt: number
  updatedAt: number
}

export interface TaskListOptions {
  states?: readonly TaskState[]
  /** At most this many. */
  limit?: number
  /** Only tasks after this one in the listing's order (the id of the last task of the previous page). */
  after?: string
  /** Newest first (the latest submissions), instead of oldest first. @default false */
  newestFirst?: boolean
}

export type TaskCounts = Record<TaskState, number>

export interface TaskStore {
  /** Inserts unless a task with this id exists; returns the stored record either way. */
  insert(record: TaskRecord, input: Uint8Array): Promise<{ inserted: boolean; record: TaskRecord }>
  get(id: string): Promise<TaskRecord | undefined>
  /** The task's input bytes. */
  input(id: string): Promise<Uint8Array | undefined>
  /**
   * Atomically replaces the record with `change(current)`. When `change` returns undefined (or
   * the task does not exist) nothing is written and undefined is returned; otherwise the new record.
   * `change` must be synchronous and must not mutate `current`.
   */
  update(id: string, change: (current: Readonly<TaskRecord>) => TaskRecord | undefined): Promise<TaskRecord | undefined>
  /** In submission order (oldest first, or newest first); an index scan, not a walk over every task. */
  list(options?: TaskListOptions): Promise<TaskRecord[]>
  /** Leased tasks whose lease ran out at `now`, oldest first. */
  expiredLeases(now: number, limit: number): Promise<TaskRecord[]>
  /** How many tasks are in each state. */
  counts(): Promise<TaskCounts>
  /** Deletes up to `limit` finished tasks last changed before `before` (epoch ms); returns how many. */
  prune(before: number, limit: number): Promise<number>
  /** Releases the store (a database closes its file). Idempotent. */
  close(): Promise<void>
}

export function emptyCounts(): TaskCounts {
  return { pending: 0, assigned: 0, running: 0, succeeded: 0, failed: 0 }
}
