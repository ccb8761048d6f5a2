// Runs the task Worker engine for the app's node: started once the node is up, and stopped
// first on shutdown so running tasks are handed back to the scheduler (re-queued at once)
// before the node disconnects.
import { type AppConfigOf, HYPHA_CONFIG, HYPHA_NODE, ShutdownService } from '@hypha/app-kit'
import type { HyphaNode } from '@hypha/network-core'
import { Worker } from '@hypha/tasks'
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common'
import type { workerConfigSchema } from './worker-config.js'

@Injectable()
export class TaskWorkerService implements OnApplicationBootstrap {
  readonly worker: Worker

  constructor(
    @Inject(HYPHA_NODE) node: HyphaNode,
    @Inject(HYPHA_CONFIG) config: AppConfigOf<typeof workerConfigSchema>,
    @Inject(ShutdownService) shutdown: ShutdownService,
  ) {
    this.worker = new Worker(node, { capacity: config.worker.capacity, labels: config.worker.labels })
    shutdown.register('task worker', () => this.worker.stop())
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.worker.start()
  }
}
