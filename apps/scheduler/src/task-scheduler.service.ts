// Runs the task Scheduler engine on the app's node: handlers and announcements start with the
// app, metrics go to the node's registry, and shutdown stops it before the node disconnects.
import { type AppConfigOf, HYPHA_CONFIG, HYPHA_NODE, ShutdownService } from '@hypha/app-kit'
import type { HyphaNode } from '@hypha/network-core'
import { attachSchedulerMetrics, Scheduler } from '@hypha/tasks'
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common'
import { PinoLogger } from 'nestjs-pino'
import type { schedulerConfigSchema } from './scheduler-config.js'

@Injectable()
export class TaskSchedulerService implements OnApplicationBootstrap {
  readonly scheduler: Scheduler

  constructor(
    @Inject(HYPHA_NODE) node: HyphaNode,
    @Inject(HYPHA_CONFIG) config: AppConfigOf<typeof schedulerConfigSchema>,
    @Inject(ShutdownService) shutdown: ShutdownService,
    @Inject(PinoLogger) logger: PinoLogger,
  ) {
    const { lease, maxAttempts, announceInterval, maxInputSize } = config.scheduler
    this.scheduler = new Scheduler(node, {
      leaseMs: lease,
      maxAttempts,
      announceIntervalMs: announceInterval,
      maxInputBytes: maxInputSize,
    })
    attachSchedulerMetrics(this.scheduler, node.registry)
    logger.setContext('scheduler')
    this.scheduler.addEventListener('task:requeued', ({ detail }) =>
      logger.warn({ task: detail.id, worker: detail.worker, attempts: detail.attempts, reason: detail.reason }, 'task re-queued'))
    this.scheduler.addEventListener('task:failed', ({ detail }) =>
      logger.warn({ task: detail.id, worker: detail.worker, attempts: detail.attempts, error: detail.error }, 'task failed'))
    this.scheduler.addEventListener('task:succeeded', ({ detail }) =>
      logger.info({ task: detail.id, worker: detail.worker, attempts: detail.attempts }, 'task succeeded'))
    this.scheduler.addEventListener('protocol:error', ({ detail }) => logger.warn(detail, 'task protocol error'))
    shutdown.register('task scheduler', () => this.scheduler.stop())
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.scheduler.start()
  }
}
