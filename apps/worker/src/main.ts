// hypha-worker: joins through the gateway (DHT client, relay reservations when unreachable,
// DCUtR from createNode's worker role), offers for announced tasks it can run, executes them
// (echo, sleep, sha256; no shell executor) and reports back.
import 'reflect-metadata'
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
})
