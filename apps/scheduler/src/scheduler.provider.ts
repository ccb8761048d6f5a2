// The task engine as a provider: built from the node, the config and the store; started once the
// app is up, stopped (then its store closed) by the shutdown sequence before the node goes.
import { HYPHA_CONFIG, HYPHA_NODE, ReadinessChecks, ShutdownService } from '@hypha/app-kit'
import type { HyphaNode } from '@hypha/network-core'
import { attachSchedulerMetrics, type Leadership, PostgresTaskStore, Scheduler, SqliteTaskStore, type TaskStore } from '@hypha/tasks'
import { type FactoryProvider, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common'
import { PinoLogger } from 'nestjs-pino'
import { TaskStoreIndicator } from './task-store.indicator.js'
import { LEADERSHIP, type SchedulerConfig, TASK_GROUP, TASK_STORE } from './task-store.provider.js'

export const schedulerProvider: FactoryProvider<Scheduler> = {
  provide: Scheduler,
  inject: [HYPHA_NODE, HYPHA_CONFIG, TASK_STORE, LEADERSHIP, TASK_GROUP, PinoLogger],
  useFactory: (node: HyphaNode, config: SchedulerConfig, store: TaskStore, leadership: Leadership, group: string | undefined, logger: PinoLogger) => {
    const { lease, maxAttempts, announceInterval, maxInputSize, maxResultSize, retention } = config.scheduler
    const scheduler = new Scheduler(node, {
      store,
      leaseMs: lease,
      maxAttempts,
      announceIntervalMs: announceInterval,
      maxInputBytes: maxInputSize,
      maxResultBytes: maxResultSize,
      allowRolelessPeers: config.security.allowRolelessPeers,
      retentionMs: retention,
      leadership,
      ...(group !== undefined ? { group } : {}),
    })
    leadership.addEventListener('change', ({ detail: leading }) => {
      logger.info({ role: leading ? 'leader' : 'standby' }, leading ? 'leading the task set' : 'standing by')
    })
    attachSchedulerMetrics(scheduler, node.registry)
    logger.setContext('scheduler')
    scheduler.addEventListener('task:requeued', ({ detail }) =>
      logger.warn({ task: detail.id, worker: detail.worker, attempts: detail.attempts, reason: detail.reason }, 'task re-queued'))
    scheduler.addEventListener('task:failed', ({ detail }) =>
      logger.warn({ task: detail.id, worker: detail.worker, attempts: detail.attempts, error: detail.error }, 'task failed'))
    scheduler.addEventListener('task:succeeded', ({ detail }) =>
      logger.info({ task: detail.id, worker: detail.worker, attempts: detail.attempts }, 'task succeeded'))
    scheduler.addEventListener('protocol:error', ({ detail }) => logger.warn(detail, 'task protocol error'))
    scheduler.addEventListener('role:refused', ({ detail }) => logger.warn(detail, 'peer refused for its role'))
    return scheduler
  },
}

function storeName(store: TaskStore): string {
  if (store instanceof SqliteTaskStore) return store.path
  if (store instanceof PostgresTaskStore) return `postgres schema ${store.schema}`
  return 'memory'
}

@Injectable()
export class SchedulerLifecycle implements OnApplicationBootstrap {
  constructor(
    @Inject(Scheduler) private readonly scheduler: Scheduler,
    @Inject(TASK_STORE) private readonly store: TaskStore,
    @Inject(ShutdownService) shutdown: ShutdownService,
    @Inject(PinoLogger) private readonly logger: PinoLogger,
    @Inject(ReadinessChecks) readiness: ReadinessChecks,
    @Inject(TaskStoreIndicator) storeIndicator: TaskStoreIndicator,
  ) {
    readiness.add(() => storeIndicator.check('tasks'))
    shutdown.register('task scheduler', async () => {
      await this.scheduler.stop()
      await this.store.close()
    })
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.scheduler.start()
    const counts = await this.scheduler.taskCounts()
    this.logger.info({ store: storeName(this.store), role: this.scheduler.role, ...counts }, 'task store open')
  }
}
