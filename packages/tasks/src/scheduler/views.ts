// What the scheduler shows of its tasks and workers (the HTTP API's bodies): no input bytes,
// lease ids kept private.
import type { ConnectedPeer } from '@hypha/network-core'
import { z } from 'zod'
import { RequirementsSchema, ResultPayloadSchema } from '../protocol/messages.js'
import type { TaskRecord, TaskState } from './task-store.js'

// The response schemas are zod, like the request schemas in messages.ts: the HTTP API's OpenAPI
// document is generated from them and the typed client (@hypha/client) uses the same types.

const TASK_STATE_VALUES = ['pending', 'assigned', 'running', 'succeeded', 'failed'] as const satisfies readonly TaskState[]

export const TaskViewSchema = z
  .object({
    id: z.string().meta({ description: 'The task id (given at submission, or a UUID).' }),
    executor: z.string(),
    state: z.enum(TASK_STATE_VALUES),
    attempts: z.number().int().meta({ description: 'Assignments so far (each is one attempt).' }),
    maxAttempts: z.number().int(),
    worker: z.string().optional().meta({ description: 'Peer id of the worker of the current or last attempt.' }),
    inputSize: z.number().int(),
    requirements: RequirementsSchema.optional(),
    timeoutMs: z.number().int().optional(),
    leaseExpiresAt: z.number().optional().meta({ description: 'Epoch ms at which the current lease runs out.' }),
    progress: z
      .object({ fraction: z.number().min(0).max(1).optional(), message: z.string().optional(), at: z.number() })
      .optional()
      .meta({ description: 'The last progress the job reported.' }),
    result: z.json().optional().meta({ description: 'A JSON result (executors with result = "json").' }),
    resultPayload: ResultPayloadSchema.optional().meta({ description: 'A result file: its size and sha256 (the bytes: GET /tasks/{id}/result).' }),
    error: z.string().optional().meta({ description: 'Why the task failed (or "cancelled: <reason>").' }),
    createdAt: z.number().meta({ description: 'Epoch ms.' }),
    updatedAt: z.number().meta({ description: 'Epoch ms.' }),
  })
  .meta({ id: 'TaskView', description: 'A task as the scheduler shows it: no input bytes, lease ids kept private.' })
export type TaskView = z.infer<typeof TaskViewSchema>

export const WorkerViewSchema = z
  .object({
    id: z.string().meta({ description: 'Peer id.' }),
    executors: z.array(z.string()),
    capacity: z.number().int(),
    running: z.number().int(),
    labels: z.record(z.string(), z.string()),
    connection: z.enum(['quic', 'tcp', 'relay', 'other', 'disconnected']).meta({ description: 'How it is connected to this scheduler now.' }),
    direct: z.boolean(),
    lastSeen: z.number().meta({ description: 'Epoch ms of its last status, offer or pull.' }),
  })
  .meta({ id: 'WorkerView', description: 'A worker the scheduler knows.' })
export type WorkerView = z.infer<typeof WorkerViewSchema> & { connection: ConnectedPeer['transport'] | 'disconnected' }

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
