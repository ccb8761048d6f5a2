// Child process of scheduler-scale.mjs: many light workers in one process, each a Hypha node of
// its own (own certificate, own PeerId) with a Worker engine of capacity 1 and the built-in
// executors, bootstrapping from the scheduler. SIGKILLing this process is a crash of all of them.
import { TASK_TOPICS, Worker } from '@hypha/tasks'
import { LISTEN, startNode } from './common.mjs'

const workers = []

async function init({ files, bootstrap }) {
  for (let i = 0; i < files.length; i += 10) {
    const batch = await Promise.all(
      files.slice(i, i + 10).map(async (f) => {
        const running = await startNode(f, 'worker', LISTEN.tcp, { pubsubTopics: TASK_TOPICS, config: { bootstrap } })
        const worker = new Worker(running.node, { capacity: 1 })
        await worker.start()
        return { running, worker }
      }),
    )
    workers.push(...batch)
  }
  return { workers: workers.length }
}

process.on('message', async (message) => {
  try {
    if (message.type === 'init') process.send({ type: 'ready', ...(await init(message)) })
    else if (message.type === 'stats') {
      const { user, system } = process.cpuUsage()
      process.send({ type: 'stats', seq: message.seq, cpuUs: user + system, rss: process.memoryUsage.rss() })
    } else if (message.type === 'stop') {
      await Promise.all(
        workers.map(async ({ running, worker }) => {
          await worker.stop()
          await running.stop()
        }),
      )
      process.exit(0)
    }
  } catch (err) {
    process.send?.({ type: 'error', message: err?.stack ?? String(err) })
  }
})
process.on('disconnect', () => process.exit(0))
