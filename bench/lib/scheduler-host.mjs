// Child process of scheduler-scale.mjs: one Hypha node running the Scheduler (memory store),
// alone in its process so that its CPU time and RSS are the scheduler's. Answers over IPC:
// workers (how many it knows connected), submit (a burst of tasks, timed from each submit call
// to its 'task:assigned' event), finish (waits for tasks to succeed, counting re-queues), stats.
import { Scheduler, TASK_TOPICS } from '@hypha/tasks'
import { LISTEN, startNode } from './common.mjs'
import { nowMs } from './swarm.mjs'

let running
let scheduler
const submittedAt = new Map()
const assignedAt = new Map()
const succeeded = new Set()
let requeued = 0

async function init({ files, leaseMs }) {
  running = await startNode(files, 'scheduler', LISTEN.tcp, { pubsubTopics: TASK_TOPICS })
  scheduler = new Scheduler(running.node, { leaseMs, announceIntervalMs: 250 })
  scheduler.addEventListener('task:assigned', (e) => {
    if (!assignedAt.has(e.detail.id)) assignedAt.set(e.detail.id, nowMs())
  })
  scheduler.addEventListener('task:succeeded', (e) => succeeded.add(e.detail.id))
  scheduler.addEventListener('task:requeued', () => requeued++)
  await scheduler.start()
  return { address: running.node.getMultiaddrs()[0].toString() }
}

async function until(predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

async function submit({ count, executor, input, timeoutMs }) {
  const ids = []
  const first = nowMs()
  await Promise.all(
    Array.from({ length: count }, async () => {
      const at = nowMs()
      const { id } = await scheduler.submit({ executor, input })
      submittedAt.set(id, at)
      ids.push(id)
    }),
  )
  const allPlaced = await until(() => ids.every((id) => assignedAt.has(id)), timeoutMs)
  const placed = ids.filter((id) => assignedAt.has(id))
  const last = Math.max(...placed.map((id) => assignedAt.get(id)))
  return {
    ids,
    placed: placed.length,
    allPlaced,
    placementMs: placed.map((id) => assignedAt.get(id) - submittedAt.get(id)),
    spanMs: last - first,
  }
}

async function finish({ ids, timeoutMs }) {
  const before = requeued
  const started = nowMs()
  const done = await until(() => ids.every((id) => succeeded.has(id)), timeoutMs)
  return { done, succeeded: ids.filter((id) => succeeded.has(id)).length, requeued: requeued - before, durationMs: nowMs() - started }
}

process.on('message', async (message) => {
  try {
    if (message.type === 'init') process.send({ type: 'ready', ...(await init(message)) })
    else if (message.type === 'workers')
      process.send({
        type: 'workers',
        seq: message.seq,
        connected: scheduler.workers().filter((w) => w.connection !== 'disconnected').length,
      })
    else if (message.type === 'submit') process.send({ type: 'submit', seq: message.seq, ...(await submit(message)) })
    else if (message.type === 'finish') process.send({ type: 'finish', seq: message.seq, ...(await finish(message)) })
    else if (message.type === 'stats') {
      const { user, system } = process.cpuUsage()
      process.send({
        type: 'stats',
        seq: message.seq,
        cpuUs: user + system,
        rss: process.memoryUsage.rss(),
        connections: running.node.libp2p.getConnections().length,
      })
    } else if (message.type === 'stop') {
      await scheduler?.stop()
      await running?.stop()
      process.exit(0)
    }
  } catch (err) {
    process.send?.({ type: 'error', seq: message.seq, message: err?.stack ?? String(err) })
  }
})
process.on('disconnect', () => process.exit(0))
