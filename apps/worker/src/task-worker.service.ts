// Runs the task Worker engine for the app's node: started once the node is up, and stopped
// first on shutdown so running tasks are handed back to the scheduler (re-queued at once)
// before the node disconnects. Task outcomes are logged and counted in the node's registry.
import { type AppConfigOf, HYPHA_CONFIG, HYPHA_NODE, ShutdownService } from '@hypha/app-kit'
import type { HyphaNode } from '@hypha/network-core'
import { attachWorkerMetrics, builtinExecutors, createProcessExecutor, type Executor, Worker } from '@hypha/tasks'
import { join, resolve } from 'node:path'
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
    this.worker = new Worker(node, {
      capacity: config.worker.capacity,
      labels: config.worker.labels,
      executors: executorsOf(config.worker),
      allowRolelessPeers: config.security.allowRolelessPeers,
    })
    attachWorkerMetrics(this.worker, node.registry)
    logger.setContext('worker')
    this.worker.addEventListener('task:assigned', ({ detail }) => logger.info(detail, 'task assigned'))
    this.worker.addEventListener('task:finished', ({ detail }) => {
      const { result: _result, ...summary } = detail
      if (detail.outcome === 'succeeded') logger.info(summary, 'task finished')
      else logger.warn(summary, 'task finished')
    })
    this.worker.addEventListener('protocol:error', ({ detail }) => logger.warn(detail, 'task protocol error'))
    this.worker.addEventListener('role:refused', ({ detail }) => logger.warn(detail, 'peer refused for its role'))
    shutdown.register('task worker', () => this.worker.stop())
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.worker.start()
  }
}

type WorkerSection = AppConfigOf<typeof workerConfigSchema>['worker']

/** The built-ins (unless switched off) and a process executor per [worker.executors.<name>]. */
export function executorsOf(worker: WorkerSection): Record<string, Executor> {
  const executors: Record<string, Executor> = worker.builtinExecutors ? builtinExecutors() : {}
  const workRoot = resolve(worker.workDir, 'attempts')
  for (const [name, spec] of Object.entries(worker.executors)) {
    executors[name] = createProcessExecutor(name, {
      command: spec.command,
      env: spec.env,
      passEnv: spec.passEnv,
      ...(spec.cwd !== undefined ? { cwd: resolve(spec.cwd) } : {}),
      ...(spec.timeout !== undefined ? { timeoutMs: spec.timeout } : {}),
      maxOutputBytes: spec.maxOutput,
      graceMs: spec.grace,
      result: spec.result,
      stdin: spec.stdin,
    }, { workRoot: join(workRoot, name) })
  }
  return executors
}
