// The TaskStore the scheduler keeps its tasks in, chosen by [scheduler] store: SQLite under
// data_dir by default (survives restarts), memory, or PostgreSQL (shared by replicas), with the
// Leadership that decides which replica runs the allocation loop.
import { join, resolve } from 'node:path'
import { type AppConfigOf, HYPHA_CONFIG, HYPHA_NODE } from '@hypha/app-kit'
import type { HyphaNode } from '@hypha/network-core'
import { type Leadership, MemoryTaskStore, PostgresLeadership, PostgresTaskStore, SoleLeadership, SqliteTaskStore, type TaskStore } from '@hypha/tasks'
import type { FactoryProvider } from '@nestjs/common'
import { PinoLogger } from 'nestjs-pino'
import type { schedulerConfigSchema } from './scheduler-config.js'

export const TASK_STORE = Symbol('hypha:task-store')
export const LEADERSHIP = Symbol('hypha:leadership')
/** The task set's id announced to workers (PostgreSQL: shared by the replicas), or undefined. */
export const TASK_GROUP = Symbol('hypha:task-group')

export type SchedulerConfig = AppConfigOf<typeof schedulerConfigSchema>

const isPostgres = (store: string): boolean => store.startsWith('postgres')

export async function openTaskStore(config: SchedulerConfig['scheduler']): Promise<TaskStore> {
  if (config.store === 'memory') return new MemoryTaskStore()
  if (isPostgres(config.store)) return PostgresTaskStore.open({ connectionString: config.store, schema: config.postgresSchema })
  return new SqliteTaskStore(join(resolve(config.dataDir), 'tasks.db'), { durability: config.durability })
}

export const taskStoreProvider: FactoryProvider<TaskStore> = {
  provide: TASK_STORE,
  inject: [HYPHA_CONFIG],
  useFactory: (config: SchedulerConfig) => openTaskStore(config.scheduler),
}

export const leadershipProvider: FactoryProvider<Leadership> = {
  provide: LEADERSHIP,
  inject: [HYPHA_CONFIG, HYPHA_NODE, TASK_STORE, PinoLogger],
  useFactory: (config: SchedulerConfig, node: HyphaNode, taskStore: TaskStore, logger: PinoLogger) => {
    const self = node.peerId.toString()
    const { store, postgresSchema, lease } = config.scheduler
    if (!(taskStore instanceof PostgresTaskStore)) return new SoleLeadership(self)
    return new PostgresLeadership({
      connectionString: store,
      schema: postgresSchema,
      self,
      pool: taskStore.pool,
      // a standby tries 4 times a lease: it leads well within 2 leases of the leader's death
      intervalMs: Math.max(Math.floor(lease / 4), 50),
      onError: (err) => logger.warn({ err: String(err) }, 'leadership session error'),
    })
  },
}

export const taskGroupProvider: FactoryProvider<string | undefined> = {
  provide: TASK_GROUP,
  inject: [TASK_STORE],
  useFactory: (store: TaskStore) => (store instanceof PostgresTaskStore ? store.clusterId : undefined),
}
