// The TaskStore the scheduler keeps its tasks in, chosen by [scheduler] store: SQLite under
// data_dir by default (survives restarts), or memory.
import { join, resolve } from 'node:path'
import { type AppConfigOf, HYPHA_CONFIG } from '@hypha/app-kit'
import { MemoryTaskStore, SqliteTaskStore, type TaskStore } from '@hypha/tasks'
import type { FactoryProvider } from '@nestjs/common'
import type { schedulerConfigSchema } from './scheduler-config.js'

export const TASK_STORE = Symbol('hypha:task-store')

export type SchedulerConfig = AppConfigOf<typeof schedulerConfigSchema>

export function openTaskStore(config: SchedulerConfig['scheduler']): TaskStore {
  if (config.store === 'memory') return new MemoryTaskStore()
  return new SqliteTaskStore(join(resolve(config.dataDir), 'tasks.db'), { durability: config.durability })
}

export const taskStoreProvider: FactoryProvider<TaskStore> = {
  provide: TASK_STORE,
  inject: [HYPHA_CONFIG],
  useFactory: (config: SchedulerConfig) => openTaskStore(config.scheduler),
}
