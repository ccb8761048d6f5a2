// Runs the task Worker engine for the app's node: started once the node is up, and stopped
// first on shutdown so running tasks are handed back to the scheduler (re-queued at once)
// before the node disconnects. Task outcomes are logged and counted in the node's registry.
import { type AppConfigOf, HYPHA_CONFIG, HYPHA_NODE, ShutdownService } from '@hypha/app-kit'
import type { HyphaNode } from '@hypha/network-core'
import { attachWorkerMetrics, Worker } from '@hypha/tasks'
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common'
import { PinoLogger } from 'nestjs-pino'
import type { workerConfigSchema } from './worker-config.js'

@Injectable()
export class TaskWorkerService implements OnApplicationBootstrap {
  readonly worker: Worker

  constructor(
    @Inject(HYPHA_NODE) node: HyphaNode,
    @Inject(HYPHA_CONFIG) config: AppConfigOf<typeof workerConfigSchema>,
    @Inject(ShutdownService) shutdown: ShutdownService,
    @Inject(PinoLogger) logger: PinoLogger,
  ) {
    this.worker = new Worker(node, { capacity: config.worker.capacity, labels: config.worker.labels })
    attachWorkerMetrics(this.worker, node.registry)
    logger.setContext('worker')
    this.worker.addEventListener('task:assigned', ({ detail }) => logger.info(detail, 'task assigned'))
    this.worker.addEventListener('task:finished', ({ detail }) => {
      const { result: _result, ...summary } = detail
      if (detail.outcome === 'succeeded') logger.info(summary, 'task finished')
      else logger.warn(summary, 'task finished')
    })
    this.worker.addEventListener('protocol:error', ({ detail }) => logger.warn(detail, 'task protocol error'))
    shutdown.register('task worker', () => this.worker.stop())
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.worker.start()
  }
}
