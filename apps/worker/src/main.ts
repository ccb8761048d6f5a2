// hypha-worker: joins through the gateway (DHT client, relay reservations when unreachable,
// DCUtR from createNode's worker role), offers for announced tasks it can run, executes them
// (the built-ins echo, sleep and sha256, and the process executors of [worker.executors]) and
// reports back; result files go to the scheduler over bulk transfer (payloads under work_dir).
import 'reflect-metadata'
import { join } from 'node:path'
import { runNodeApp } from '@hypha/app-kit'
import { TASK_TOPICS } from '@hypha/tasks'
import { workerConfigSchema } from './worker-config.js'
import { WorkerModule } from './worker.module.js'

await runNodeApp({
  name: 'hypha-worker',
  role: 'worker',
  schema: workerConfigSchema,
  roleModules: [WorkerModule],
  pubsubTopics: TASK_TOPICS,
  bulkDirectory: (config) => join(config.worker.workDir, 'payloads'),
})
