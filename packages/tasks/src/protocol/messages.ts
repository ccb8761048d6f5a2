// The task protocol's wire messages: one zod schema per message, each with a version field and
// bounded sizes, plus the protocol ids and the announcement topic. Both engines validate with these.
//
// The exchange (every request goes worker -> scheduler, so a worker behind NAT or a relay never
// needs to be dialled; the scheduler's addresses ride in the announcement):
//  1. scheduler publishes Announcement on ANNOUNCE_TOPIC (pending tasks; again every interval until assigned)
//  2. worker with a free slot and the executor -> OFFER: the response IS the assignment (task, input
//     ref, lease id + ttl) or a refusal (taken / not-eligible / unknown-task / stopping); first offer wins
//  2b. worker whose slot frees -> PULL: up to `max` assignments at once (oldest eligible first), so a
//     busy worker never waits for the next announcement round
//  3. worker -> PROGRESS 'started' (task becomes running); PROGRESS and RENEW every ttl/3 extend the lease
//  4. input larger than LIMITS.inlineInputBytes: worker opens INPUT_PROTOCOL, proving its lease
//  5. worker -> REPORT succeeded | failed(retryable?) | released (hand-back on stop); a report may
//     carry `next` (a PULL for the slot it frees): one round trip per task in a busy queue
//  6. lease expiry / released / retryable failure -> pending with attempts kept, failed at maxAttempts;
//     a report for a finished task is 'duplicate' (ignored), one without the lease 'refused'
import { defineProtocol } from '@hypha/network-core'
import { z } from 'zod'

export const TASK_PROTOCOL_VERSION = 1

/** GossipSub topic on which schedulers announce pending tasks. */
export const ANNOUNCE_TOPIC = 'hypha/tasks/announce/1'
/** GossipSub topic on which workers publish their capabilities and load. */
export const WORKER_STATUS_TOPIC = 'hypha/tasks/workers/1'
/** Every topic the task protocol uses (pass to createNode's `pubsubTopics` so they are scored). */
export const TASK_TOPICS: readonly string[] = [ANNOUNCE_TOPIC, WORKER_STATUS_TOPIC]

export const OFFER_PROTOCOL = '/hypha/tasks/offer/1.0.0'
export const RENEW_PROTOCOL = '/hypha/tasks/renew/1.0.0'
export const PROGRESS_PROTOCOL = '/hypha/tasks/progress/1.0.0'
export const REPORT_PROTOCOL = '/hypha/tasks/report/1.0.0'
export const PULL_PROTOCOL = '/hypha/tasks/pull/1.0.0'
/** Raw stream (not request/response): task input bytes in length-prefixed chunks. */
export const INPUT_PROTOCOL = '/hypha/tasks/input/1.0.0'

export const LIMITS = {
  taskIdChars: 128,
  executorChars: 64,
  labels: 32,
  labelKeyChars: 64,
  labelValueChars: 256,
  tasksPerAnnouncement: 64,
  /** Assignments one PULL may return. */
  tasksPerPull: 16,
  addressesPerAnnouncement: 16,
  addressChars: 512,
  executorsPerWorker: 64,
  errorChars: 4096,
  progressMessageChars: 512,
  /** Input carried inside the offer response (base64); larger inputs go over INPUT_PROTOCOL. */
  inlineInputBytes: 16 * 1024,
  /** Largest chunk frame on INPUT_PROTOCOL. */
  inputChunkBytes: 64 * 1024,
  /** Largest task result (encoded JSON); the rpc envelope limit applies on top. */
  resultBytes: 1024 * 1024,
} as const

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export const JsonValueSchema: z.ZodType<JsonValue> = z.json().refine(
  (value) => JSON.stringify(value).length <= LIMITS.resultBytes,
  `result larger than ${LIMITS.resultBytes} bytes`,
)

const version = z.literal(TASK_PROTOCOL_VERSION)

export const TaskIdSchema = z
  .string()
  .min(1)
  .max(LIMITS.taskIdChars)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only')

export const ExecutorNameSchema = z
  .string()
  .min(1)
  .max(LIMITS.executorChars)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits and . _ - only')

export const LabelsSchema = z
  .record(z.string().min(1).max(LIMITS.labelKeyChars), z.string().max(LIMITS.labelValueChars))
  .refine((labels) => Object.keys(labels).length <= LIMITS.labels, `at most ${LIMITS.labels} labels`)
export type Labels = z.infer<typeof LabelsSchema>

/** What a task needs from a worker: every listed label must match the worker's value exactly. */
export const RequirementsSchema = z.strictObject({ labels: LabelsSchema.optional() })
export type Requirements = z.infer<typeof RequirementsSchema>

const PeerIdStringSchema = z.string().min(1).max(128)
const LeaseIdSchema = z.string().min(1).max(64)
const count = z.number().int().nonnegative()
const positiveMs = z.number().int().positive().max(7 * 24 * 3600 * 1000)

// ---- GossipSub: announcements (scheduler -> all) and worker status (worker -> all) ----

export const AnnouncedTaskSchema = z.strictObject({
  id: TaskIdSchema,
  executor: ExecutorNameSchema,
  inputSize: count,
  requirements: RequirementsSchema.optional(),
  attempt: count,
})
export type AnnouncedTask = z.infer<typeof AnnouncedTaskSchema>

export const AnnouncementSchema = z.strictObject({
  v: version,
  /** The announcing scheduler; must equal the message's (signed) author. */
  scheduler: PeerIdStringSchema,
  /** The scheduler's addresses, so a worker that is not connected to it can dial. */
  addrs: z.array(z.string().max(LIMITS.addressChars)).max(LIMITS.addressesPerAnnouncement),
  /** Empty only in a leader's beacon (with `group`): nothing pending, but this replica leads. */
  tasks: z.array(AnnouncedTaskSchema).max(LIMITS.tasksPerAnnouncement),
  /**
   * The task set the scheduler serves (replicas on one database share it): a worker whose
   * tasks came from another replica of the same set reports to this one, the leader, from now on.
   */
  group: z.string().min(1).max(64).optional(),
}).refine((a) => a.tasks.length > 0 || a.group !== undefined, 'an announcement without tasks must name its group (a leader beacon)')
export type Announcement = z.infer<typeof AnnouncementSchema>

export const WorkerCapabilitiesSchema = z.strictObject({
  executors: z.array(ExecutorNameSchema).max(LIMITS.executorsPerWorker),
  capacity: z.number().int().positive().max(10_000),
  running: count,
  labels: LabelsSchema,
})
export type WorkerCapabilities = z.infer<typeof WorkerCapabilitiesSchema>

export const WorkerStatusSchema = z.strictObject({ v: version, worker: WorkerCapabilitiesSchema })
export type WorkerStatus = z.infer<typeof WorkerStatusSchema>

// ---- offer (worker -> scheduler); the response is the assignment ----

export const OfferRequestSchema = z.strictObject({ v: version, taskId: TaskIdSchema, worker: WorkerCapabilitiesSchema })
export type OfferRequest = z.infer<typeof OfferRequestSchema>

export const TaskInputRefSchema = z.strictObject({
  /** 'text': submitted as a UTF-8 string; 'bytes': submitted as base64. */
  kind: z.enum(['text', 'bytes']),
  size: count,
  /** The input itself (base64) when it is at most LIMITS.inlineInputBytes; else fetch it over INPUT_PROTOCOL. */
  inline: z.base64().max(Math.ceil(LIMITS.inlineInputBytes / 3) * 4).optional(),
})
export type TaskInputRef = z.infer<typeof TaskInputRefSchema>

export const AssignmentSchema = z.strictObject({
  id: TaskIdSchema,
  executor: ExecutorNameSchema,
  input: TaskInputRefSchema,
  timeoutMs: positiveMs.optional(),
  attempt: z.number().int().positive(),
  lease: z.strictObject({ id: LeaseIdSchema, ttlMs: positiveMs }),
})
export type Assignment = z.infer<typeof AssignmentSchema>

export const OfferResponseSchema = z.discriminatedUnion('assigned', [
  z.strictObject({ v: version, assigned: z.literal(true), task: AssignmentSchema }),
  z.strictObject({
    v: version,
    assigned: z.literal(false),
    reason: z.enum(['taken', 'unknown-task', 'not-eligible', 'stopping']),
  }),
])
export type OfferResponse = z.infer<typeof OfferResponseSchema>

// ---- pull (worker -> scheduler): the next tasks for a worker's free slots ----

export const PullRequestSchema = z.strictObject({
  v: version,
  worker: WorkerCapabilitiesSchema,
  /** Free slots: at most this many assignments. */
  max: z.number().int().min(1).max(LIMITS.tasksPerPull),
})
export type PullRequest = z.infer<typeof PullRequestSchema>

export const PullResponseSchema = z.strictObject({
  v: version,
  /** Empty when nothing pending fits the worker (it then waits for the next announcement). */
  tasks: z.array(AssignmentSchema).max(LIMITS.tasksPerPull),
  /** Why nothing was handed out, when it is not "nothing fits". */
  reason: z.enum(['stopping', 'standby']).optional(),
})
export type PullResponse = z.infer<typeof PullResponseSchema>

// ---- lease renewal and progress (worker -> scheduler) ----

export const RenewRequestSchema = z.strictObject({ v: version, taskId: TaskIdSchema, leaseId: LeaseIdSchema })
export type RenewRequest = z.infer<typeof RenewRequestSchema>

export const LeaseResponseSchema = z.discriminatedUnion('status', [
  z.strictObject({ v: version, status: z.literal('renewed'), ttlMs: positiveMs }),
  z.strictObject({ v: version, status: z.literal('lost') }),
])
export type LeaseResponse = z.infer<typeof LeaseResponseSchema>

export const ProgressRequestSchema = z.strictObject({
  v: version,
  taskId: TaskIdSchema,
  leaseId: LeaseIdSchema,
  /** 0..1 when the executor knows it. */
  fraction: z.number().min(0).max(1).optional(),
  message: z.string().max(LIMITS.progressMessageChars).optional(),
})
export type ProgressRequest = z.infer<typeof ProgressRequestSchema>

// ---- report (worker -> scheduler): the result, a failure, or a hand-back ----

/** A report may ask for the next tasks for the slot it frees (a pull riding on the report). */
export const NextAskSchema = z.strictObject({
  worker: WorkerCapabilitiesSchema,
  max: z.number().int().min(1).max(LIMITS.tasksPerPull),
})
export type NextAsk = z.infer<typeof NextAskSchema>

/**
 * A result that travels as a file (any size, any bytes): the worker pushes it to the scheduler
 * over the bulk transfer protocol as `resultPayloadName(leaseId)` before it reports, and the
 * report names its size and sha256. The scheduler accepts the push only from the lease holder.
 */
export const ResultPayloadSchema = z.strictObject({
  size: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 is 64 lowercase hex digits'),
})
export type ResultPayload = z.infer<typeof ResultPayloadSchema>

const RESULT_PAYLOAD_PREFIX = 'result.'

/** The bulk payload name of an attempt's result file (lease ids are the scheduler's UUIDs). */
export function resultPayloadName(leaseId: string): string {
  return `${RESULT_PAYLOAD_PREFIX}${leaseId}`
}

/** The lease id a result payload name carries, or undefined when the name is not one. */
export function leaseIdOfResultPayload(name: string): string | undefined {
  return leaseIdAfter(RESULT_PAYLOAD_PREFIX, name)
}

const INPUT_PAYLOAD_PREFIX = 'input.'

/**
 * The bulk payload name of a task input for the holder of lease `leaseId`: a worker that runs a
 * node with bulk transfer pulls an input that is not inline under this name (resumable, sha256
 * checked); the scheduler serves it only to the lease holder. A worker without bulk transfer,
 * or a scheduler that refuses the pull, falls back to INPUT_PROTOCOL.
 */
export function inputPayloadName(leaseId: string): string {
  return `${INPUT_PAYLOAD_PREFIX}${leaseId}`
}

/** The lease id an input payload name carries, or undefined when the name is not one. */
export function leaseIdOfInputPayload(name: string): string | undefined {
  return leaseIdAfter(INPUT_PAYLOAD_PREFIX, name)
}

function leaseIdAfter(prefix: string, name: string): string | undefined {
  if (!name.startsWith(prefix)) return undefined
  const leaseId = name.slice(prefix.length)
  return LeaseIdSchema.safeParse(leaseId).success && /^[A-Za-z0-9-]+$/.test(leaseId) ? leaseId : undefined
}

const reportBase = { v: version, taskId: TaskIdSchema, leaseId: LeaseIdSchema, next: NextAskSchema.optional() }
export const ReportRequestSchema = z.discriminatedUnion('outcome', [
  z.strictObject({
    ...reportBase,
    outcome: z.literal('succeeded'),
    /** The result itself, or with `payload` a summary of it (often null). */
    result: JsonValueSchema,
    payload: ResultPayloadSchema.optional(),
  }),
  z.strictObject({
    ...reportBase,
    outcome: z.literal('failed'),
    error: z.string().max(LIMITS.errorChars),
    /** True when another attempt may succeed (the scheduler re-queues within maxAttempts). */
    retryable: z.boolean(),
  }),
  z.strictObject({ ...reportBase, outcome: z.literal('released'), reason: z.string().max(LIMITS.errorChars) }),
])
export type ReportRequest = z.infer<typeof ReportRequestSchema>

export const ReportResponseSchema = z.strictObject({
  v: version,
  /** accepted: recorded; duplicate: the task had already finished, ignored; refused: the sender holds no lease. */
  status: z.enum(['accepted', 'duplicate', 'refused']),
  /** The assignments a report's `next` asked for (empty: nothing pending fits). */
  next: z.array(AssignmentSchema).max(LIMITS.tasksPerPull).optional(),
})
export type ReportResponse = z.infer<typeof ReportResponseSchema>

// ---- INPUT_PROTOCOL frames ----

export const InputRequestSchema = z.strictObject({ v: version, taskId: TaskIdSchema, leaseId: LeaseIdSchema })
export type InputRequest = z.infer<typeof InputRequestSchema>

export const InputHeaderSchema = z.discriminatedUnion('ok', [
  z.strictObject({ v: version, ok: z.literal(true), size: count }),
  z.strictObject({ v: version, ok: z.literal(false), reason: z.enum(['no-lease', 'busy', 'invalid']) }),
])
export type InputHeader = z.infer<typeof InputHeaderSchema>

// ---- what the scheduler's HTTP API accepts (the app parses request bodies with it) ----

// No length limit here: the scheduler's max input size applies to text and bytes alike (413).
export const TaskInputSchema = z.union([
  z.string(),
  z.strictObject({ base64: z.base64() }),
])

export const TaskSubmissionSchema = z.strictObject({
  id: TaskIdSchema.optional(),
  executor: ExecutorNameSchema,
  input: TaskInputSchema,
  requirements: RequirementsSchema.optional(),
  timeoutMs: positiveMs.optional(),
  maxAttempts: z.number().int().positive().max(100).optional(),
})
export type TaskSubmission = z.infer<typeof TaskSubmissionSchema>

// ---- the request/response protocols as values: both engines handle and request through these ----

export const OfferProtocol = defineProtocol(OFFER_PROTOCOL, { request: OfferRequestSchema, response: OfferResponseSchema })
export const PullProtocol = defineProtocol(PULL_PROTOCOL, { request: PullRequestSchema, response: PullResponseSchema })
export const RenewProtocol = defineProtocol(RENEW_PROTOCOL, { request: RenewRequestSchema, response: LeaseResponseSchema })
export const ProgressProtocol = defineProtocol(PROGRESS_PROTOCOL, { request: ProgressRequestSchema, response: LeaseResponseSchema })
export const ReportProtocol = defineProtocol(REPORT_PROTOCOL, { request: ReportRequestSchema, response: ReportResponseSchema })
