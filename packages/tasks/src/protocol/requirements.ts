// Whether a worker may run a task: the one rule the scheduler (when it assigns) and the worker
// (when it decides to offer or pull) must agree on.
import type { Labels, Requirements } from './messages.js'

/** True when every label the task requires has exactly that value on the worker. */
export function meetsRequirements(requirements: Requirements | undefined, labels: Labels): boolean {
  for (const [key, value] of Object.entries(requirements?.labels ?? {})) if (labels[key] !== value) return false
  return true
}

/** A worker with these executors and labels can run the task. */
export function canRun(task: { executor: string; requirements?: Requirements | undefined }, worker: { executors: readonly string[]; labels: Labels }): boolean {
  return worker.executors.includes(task.executor) && meetsRequirements(task.requirements, worker.labels)
}
