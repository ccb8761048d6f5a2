// hypha-scheduler: accepts tasks over HTTP (POST /tasks), announces them on GossipSub, assigns
// each to an offering worker under a lease and collects the result (GET /tasks/:id).
import 'reflect-metadata'
import { join } from 'node:path'
import { runNodeApp } from '@hypha/app-kit'
import { TASK_TOPICS } from '@hypha/tasks'
import { schedulerConfigSchema, taskBodyLimit } from './scheduler-config.js'
import { SCHEDULER_OPENAPI } from './openapi.js'
import { SchedulerModule } from './scheduler.module.js'

await runNodeApp({
  name: 'hypha-scheduler',
  role: 'scheduler',
  schema: schedulerConfigSchema,
  roleModules: [SchedulerModule],
  pubsubTopics: TASK_TOPICS,
  jsonBodyLimit: (config) => taskBodyLimit(config.scheduler.maxInputSize),
  // result files workers deliver (executors with result = "file")
  bulkDirectory: (config) => join(config.scheduler.dataDir, 'payloads'),
  openApi: SCHEDULER_OPENAPI,
})
