// Task metrics (prefix hypha_) in the node's prom-client registry: what the scheduler and the
// worker engines did, counted from their events, and the state they hold, read at scrape time.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Scheduler } from '../scheduler/scheduler.js'
import type { TaskView } from '../scheduler/views.js'
import type { TaskOutcome, Worker } from '../worker/worker.js'

export const TASK_METRIC_NAMES = {
  tasks: 'hypha_scheduler_tasks',
  submitted: 'hypha_scheduler_tasks_submitted_total',
  finished: 'hypha_scheduler_tasks_finished_total',
  requeued: 'hypha_scheduler_tasks_requeued_total',
  /** Offers answered, by answer: `taken` against `assigned` is how many idle workers raced per task. */
  offers: 'hypha_scheduler_offers_total',
  taskDuration: 'hypha_scheduler_task_duration_seconds',
  workers: 'hypha_scheduler_workers',
  leader: 'hypha_scheduler_leader',
  workerTasks: 'hypha_worker_tasks_total',
  workerRunning: 'hypha_worker_tasks_running',
  /** Peers refused for acting outside the role their certificate grants (both engines). */
  roleRefusals: 'hypha_task_role_refusals_total',
} as const

/** One counter per registry: the scheduler and the worker engine of a node share it. */
function roleRefusals(registry: Registry): Counter<'role' | 'protocol'> {
  const existing = registry.getSingleMetric(TASK_METRIC_NAMES.roleRefusals)
  if (existing !== undefined) return existing as Counter<'role' | 'protocol'>
  return new Counter({
    name: TASK_METRIC_NAMES.roleRefusals,
    help: 'Peers refused for acting as a role their certificate does not grant, by the role they acted as and the protocol',
    labelNames: ['role', 'protocol'],
    registers: [registry],
  })
}

const WORKER_OUTCOMES: readonly TaskOutcome[] = ['succeeded', 'failed', 'lease-lost', 'handed-back']
/** Submission to final state (seconds): a loopback echo (~10 ms) up to a long sleep task. */
const TASK_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600]

export function attachSchedulerMetrics(scheduler: Scheduler, registry: Registry): void {
  new Gauge({
    name: TASK_METRIC_NAMES.tasks,
    help: 'Tasks held by the scheduler, by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      // one indexed count per state, whatever the number of stored tasks
      for (const [state, count] of Object.entries(await scheduler.taskCounts())) this.set({ state }, count)
    },
  })
  new Gauge({
    name: TASK_METRIC_NAMES.workers,
    help: 'Workers the scheduler knows, by connection (quic, tcp, relay, other, disconnected)',
    labelNames: ['connection'],
    registers: [registry],
    collect() {
      this.reset()
      for (const worker of scheduler.workers()) this.inc({ connection: worker.connection })
    },
  })
  new Gauge({
    name: TASK_METRIC_NAMES.leader,
    help: 'Whether this replica leads its task set (1) or stands by (0)',
    registers: [registry],
    collect() {
      this.set(scheduler.role === 'leader' ? 1 : 0)
    },
  })
  const submitted = new Counter({ name: TASK_METRIC_NAMES.submitted, help: 'Tasks accepted (new ids only)', registers: [registry] })
  const finished = new Counter({
    name: TASK_METRIC_NAMES.finished,
    help: 'Tasks that reached a final state',
    labelNames: ['state'],
    registers: [registry],
  })
  const requeued = new Counter({
    name: TASK_METRIC_NAMES.requeued,
    help: 'Attempts that ended without a result (lease expired, handed back, retryable failure)',
    registers: [registry],
  })
  const duration = new Histogram({
    name: TASK_METRIC_NAMES.taskDuration,
    help: 'Time from submission to the final state',
    labelNames: ['state'],
    buckets: TASK_DURATION_BUCKETS,
    registers: [registry],
  })
  const offers = new Counter({
    name: TASK_METRIC_NAMES.offers,
    help: 'Offers for announced tasks answered, by answer (assigned, taken, unknown-task, not-eligible, stopping)',
    labelNames: ['answer'],
    registers: [registry],
  })
  for (const state of ['succeeded', 'failed'] as const) finished.inc({ state }, 0)
  for (const answer of ['assigned', 'taken'] as const) offers.inc({ answer }, 0)
  scheduler.addEventListener('offer:answered', ({ detail }) => offers.inc({ answer: detail.answer }))
  const onFinished = (view: TaskView): void => {
    finished.inc({ state: view.state })
    duration.observe({ state: view.state }, Math.max(0, view.updatedAt - view.createdAt) / 1000)
  }
  scheduler.addEventListener('task:submitted', () => submitted.inc())
  scheduler.addEventListener('task:requeued', () => requeued.inc())
  scheduler.addEventListener('task:succeeded', (event) => onFinished(event.detail))
  scheduler.addEventListener('task:failed', (event) => onFinished(event.detail))
  const refusals = roleRefusals(registry)
  scheduler.addEventListener('role:refused', ({ detail }) => refusals.inc({ role: detail.role, protocol: detail.protocol }))
}

export function attachWorkerMetrics(worker: Worker, registry: Registry): void {
  const tasks = new Counter({
    name: TASK_METRIC_NAMES.workerTasks,
    help: 'Tasks this worker ended, by outcome (succeeded, failed, lease-lost, handed-back)',
    labelNames: ['outcome'],
    registers: [registry],
  })
  for (const outcome of WORKER_OUTCOMES) tasks.inc({ outcome }, 0)
  new Gauge({
    name: TASK_METRIC_NAMES.workerRunning,
    help: 'Tasks running on this worker now',
    registers: [registry],
    collect() {
      this.set(worker.running.length)
    },
  })
  worker.addEventListener('task:finished', (event) => tasks.inc({ outcome: event.detail.outcome }))
  const refusals = roleRefusals(registry)
  worker.addEventListener('role:refused', ({ detail }) => refusals.inc({ role: detail.role, protocol: detail.protocol }))
}
