// What the scheduler shows of its tasks and workers (the HTTP API's bodies): no input bytes,
// lease ids kept private.
import type { ConnectedPeer } from '@hypha/network-core'
import type { JsonValue, Labels, Requirements, ResultPayload } from '../protocol/messages.js'
import type { TaskRecord, TaskState } from './task-store.js'

export interface TaskView {
  id: string
  executor: string
  state: TaskState
  attempts: number
  maxAttempts: number
  worker?: string
  inputSize: number
  requirements?: Requirements
  timeoutMs?: number
  leaseExpiresAt?: number
  progress?: { fraction?: number; message?: string; at: number }
  result?: JsonValue
  /** A result delivered as a file: its size and sha256 (the bytes: GET /tasks/:id/result). */
  resultPayload?: ResultPayload
  error?: string
  createdAt: number
  updatedAt: number
}

export interface WorkerView {
  id: string
  executors: string[]
  capacity: number
  running: number
  labels: Labels
  /** 'quic' | 'tcp' | 'relay' | 'other' while connected, 'disconnected' otherwise. */
  connection: ConnectedPeer['transport'] | 'disconnected'
  direct: boolean
  lastSeen: number
}

export function toTaskView(record: TaskRecord): TaskView {
  const view: TaskView = {
    id: record.id,
    executor: record.executor,
    state: record.state,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    inputSize: record.inputSize,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  }
  if (record.worker !== undefined) view.worker = record.worker
  if (record.requirements !== undefined) view.requirements = record.requirements
  if (record.timeoutMs !== undefined) view.timeoutMs = record.timeoutMs
  if (record.lease !== undefined) view.leaseExpiresAt = record.lease.expiresAt
  if (record.progress !== undefined) view.progress = record.progress
  if (record.result !== undefined) view.result = record.result
  if (record.resultPayload !== undefined) view.resultPayload = { size: record.resultPayload.size, sha256: record.resultPayload.sha256 }
  if (record.error !== undefined) view.error = record.error
  return view
}
