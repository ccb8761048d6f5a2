// Child process of scheduler-scale.mjs: one Hypha node running the Scheduler (memory store),
// alone in its process so that its CPU time and RSS are the scheduler's. Answers over IPC:
// workers (how many it knows connected), submit (a burst or a steady stream of tasks, timed from
// each submit call to its 'task:assigned' event, with the offers answered meanwhile), finish
// (waits for tasks to succeed, counting re-queues), stats.
import { Scheduler, TASK_TOPICS } from '@hypha/tasks'
import { LISTEN, startNode } from './common.mjs'
import { nowMs } from './swarm.mjs'

let running
let scheduler
const submittedAt = new Map()
const assignedAt = new Map()
const succeeded = new Set()
let requeued = 0
/** Offers answered, by answer, since start. */
const offers = {}

async function init({ files, leaseMs }) {
  running = await startNode(files, 'scheduler', LISTEN.tcp, { pubsubTopics: TASK_TOPICS })
  scheduler = new Scheduler(running.node, { leaseMs, announceIntervalMs: 250 })
  scheduler.addEventListener('task:assigned', (e) => {
    if (!assignedAt.has(e.detail.id)) assignedAt.set(e.detail.id, nowMs())
  })
  scheduler.addEventListener('offer:answered', (e) => { offers[e.detail.answer] = (offers[e.detail.answer] ?? 0) + 1 })
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

/**
 * Submits `count` tasks: all at once, or one every `intervalMs` (a steady stream). Reports each
 * one's placement time, the offers the scheduler answered meanwhile (idle workers racing for the
 * same task show up as offers per task) and its CPU time.
 */
async function submit({ count, executor, input, intervalMs = 0, timeoutMs }) {
  const ids = []
  const offersBefore = { ...offers }
  const cpuBefore = process.cpuUsage()
  const first = nowMs()
  const one = async () => {
    const at = nowMs()
    const { id } = await scheduler.submit({ executor, input })
    submittedAt.set(id, at)
    ids.push(id)
  }
  if (intervalMs > 0) {
    const pending = []
    for (let i = 0; i < count; i++) {
      pending.push(one())
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
    await Promise.all(pending)
  } else await Promise.all(Array.from({ length: count }, one))
  const allPlaced = await until(() => ids.every((id) => assignedAt.has(id)), timeoutMs)
  const cpu = process.cpuUsage(cpuBefore)
  const placed = ids.filter((id) => assignedAt.has(id))
  const last = Math.max(...placed.map((id) => assignedAt.get(id)))
  return {
    ids,
    placed: placed.length,
    allPlaced,
    placementMs: placed.map((id) => assignedAt.get(id) - submittedAt.get(id)),
    spanMs: last - first,
    offers: Object.fromEntries(Object.entries(offers).map(([answer, n]) => [answer, n - (offersBefore[answer] ?? 0)])),
    cpuMs: (cpu.user + cpu.system) / 1000,
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
