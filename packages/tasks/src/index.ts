// @hypha/tasks: the scheduler<->worker task protocol: wire messages (protocol/), the scheduler's
// allocation engine with its TaskStore (scheduler/), and the worker's execution engine (worker/).
export * from './protocol/messages.js'
export { InputFetchError, fetchInput, serveInput } from './protocol/input-stream.js'
export { relayTaskTopics } from './protocol/relay-topics.js'
export { canRun, meetsRequirements } from './protocol/requirements.js'
export { type PeerRoleSource, RoleCheck, type RoleRefusal, type TaskRole } from './protocol/roles.js'
export {
  emptyCounts,
  FINISHED_STATES,
  LEASED_STATES,
  TASK_STATES,
  type TaskCounts,
  type TaskLease,
  type TaskListOptions,
  type TaskProgress,
  type TaskRecord,
  type TaskState,
  type TaskStore,
} from './scheduler/task-store.js'
export { MemoryTaskStore } from './scheduler/memory-task-store.js'
export { SqliteTaskStore, type SqliteTaskStoreOptions, type TaskStoreDurability, TaskStoreLockedError } from './scheduler/sqlite-task-store.js'
export { PostgresTaskStore, type PostgresTaskStoreOptions } from './scheduler/postgres-task-store.js'
export { type Leadership, type LeadershipEvents, PostgresLeadership, type PostgresLeadershipOptions, SoleLeadership } from './scheduler/leadership.js'
export { NotLeaderError, TaskConflictError, TaskFinishedError, TaskInputTooLargeError } from './scheduler/errors.js'
export { toTaskView, type TaskView, TaskViewSchema, type WorkerView, WorkerViewSchema } from './scheduler/views.js'
export * as lifecycle from './scheduler/lifecycle.js'
export {
  Scheduler,
  type Clock,
  type OfferAnswer,
  type SchedulerEvents,
  type SchedulerNode,
  type SchedulerOptions,
  type SubmitResult,
  type TaskSpec,
} from './scheduler/scheduler.js'
export {
  Worker,
  type TaskOutcome,
  type WorkerEvents,
  type WorkerNode,
  type WorkerOptions,
  type WorkerTaskDetail,
} from './worker/worker.js'
export {
  builtinExecutors,
  echoExecutor,
  sha256Executor,
  sleepExecutor,
  RetryableTaskError,
  ResultFile,
  type Executor,
  type ExecutorResult,
  type ExecutorContext,
  type TaskInput,
} from './worker/executors.js'
export { ResultPayloads, type ResultPayloadService, type ResultPayloadsInit } from './scheduler/result-payloads.js'
export { createProcessExecutor, type ProcessExecutorOptions, type ProcessExecutorSpec, RETRY_EXIT_CODE } from './worker/process-executor.js'
export { type JobBridge, type JobBridgeInit, startJobBridge } from './worker/job-bridge.js'
export { TASK_METRIC_NAMES, attachSchedulerMetrics, attachWorkerMetrics } from './metrics/task-metrics.js'
