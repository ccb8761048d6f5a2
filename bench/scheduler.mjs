// The scheduler with its default SQLite store, through the HTTP API, in the local stack (the
// bins as processes on loopback, as `npm start` runs them):
//  1. submissions per second: BENCH_SCHED_SUBMIT POST /tasks from BENCH_SCHED_CLIENTS concurrent
//     keep-alive clients, no workers (every task stays pending);
//  2. tasks completed per second with instant (echo) tasks: BENCH_SCHED_TASKS tasks submitted by
//     20 clients to a stack of 2 workers x 2 slots, timed from the first submission to the last
//     success, with every result checked;
//  3. GET /tasks?state=pending&limit=100 with BENCH_SCHED_STORED tasks in the store (written to
//     the database file before the scheduler starts), sequential requests, p50 / p99.
// Prints JSON and a one-line summary. The baseline of each figure is in the same run: the
// HTTP round trip of GET /health/live on the same scheduler (what any request costs).
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalStack } from '@hypha/local-stack'
import { SqliteTaskStore } from '@hypha/tasks'
import { concurrently, median, percentile, removeDir, round } from './lib/common.mjs'

const SUBMIT = Number(process.env.BENCH_SCHED_SUBMIT ?? 10_000)
const CLIENTS = Number(process.env.BENCH_SCHED_CLIENTS ?? 32)
const TASKS = Number(process.env.BENCH_SCHED_TASKS ?? 1_000)
const STORED = Number(process.env.BENCH_SCHED_STORED ?? 100_000)
const QUERIES = 300
/** The scheduler's [scheduler] durability ('crash', the default, or 'power-loss'). */
const DURABILITY = process.env.BENCH_SCHED_DURABILITY ?? 'crash'

async function post(url, body) {
  const response = await fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (response.status !== 201) throw new Error(`POST /tasks answered ${response.status}: ${await response.text()}`)
  return (await response.json()).id
}

async function timeRequests(url, path, n) {
  const times = []
  for (let i = 0; i < n; i++) {
    const started = performance.now()
    const response = await fetch(`${url}${path}`)
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`)
    times.push(performance.now() - started)
  }
  return { p50Ms: round(median(times), 3), p99Ms: round(percentile(times, 99), 3) }
}

async function withStack(workers, prepare, run) {
  const dir = await mkdtemp(join(tmpdir(), 'hypha-bench-sched-'))
  let stack
  try {
    await prepare?.(dir)
    stack = await LocalStack.start({ dir, workers, readyTimeoutMs: 120_000, env: (_name, role) => (role === 'scheduler' ? { HYPHA_SCHEDULER__DURABILITY: DURABILITY } : {}) })
    return await run(stack)
  } finally {
    await stack?.stop(10_000)
    await removeDir(dir)
  }
}

const result = { benchmark: 'scheduler', date: new Date().toISOString(), node: process.version, store: 'sqlite', durability: DURABILITY }

// 1. submissions per second, no workers
result.submit = await withStack(0, undefined, async (stack) => {
  const url = stack.scheduler.url
  await concurrently(500, CLIENTS, (i) => post(url, { executor: 'echo', input: `warm-up ${i}` }))
  const started = performance.now()
  await concurrently(SUBMIT, CLIENTS, (i) => post(url, { executor: 'echo', input: `task ${i}` }))
  const seconds = (performance.now() - started) / 1000
  return { submissions: SUBMIT, clients: CLIENTS, seconds: round(seconds, 2), perSecond: Math.round(SUBMIT / seconds), healthLive: await timeRequests(url, '/health/live', QUERIES) }
})

// 2. instant tasks through 2 workers x 2 slots
result.complete = await withStack(2, undefined, async (stack) => {
  const url = stack.scheduler.url
  const started = performance.now()
  const ids = await concurrently(TASKS, 20, (i) => post(url, { executor: 'echo', input: `echo ${i}` }))
  const submittedSeconds = (performance.now() - started) / 1000
  for (;;) {
    const open = await (await fetch(`${url}/tasks?state=pending,assigned,running&limit=1`)).json()
    if (open.length === 0) break
    if (performance.now() - started > 300_000) throw new Error('tasks still open after 5 minutes')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const seconds = (performance.now() - started) / 1000
  let wrong = 0
  await concurrently(TASKS, 20, async (i) => {
    const task = await (await fetch(`${url}/tasks/${ids[i]}`)).json()
    if (task.state !== 'succeeded' || task.result?.echo !== `echo ${i}`) wrong++
  })
  return { tasks: TASKS, workers: 2, slotsPerWorker: 2, submittedSeconds: round(submittedSeconds, 2), seconds: round(seconds, 2), perSecond: Math.round(TASKS / seconds), wrong }
})

// 3. a page of pending tasks out of many stored ones
result.list = await withStack(0, async (dir) => {
  // the scheduler's default data_dir is "data" under its working directory (the stack dir)
  const store = new SqliteTaskStore(join(dir, 'data', 'tasks.db'))
  const input = new TextEncoder().encode('stored')
  const now = Date.now()
  const writes = []
  for (let i = 0; i < STORED; i++) {
    // one in ten pending, the rest finished: a store that has run for a while
    const state = i % 10 === 0 ? 'pending' : 'succeeded'
    writes.push(store.insert({ id: `stored-${i}`, executor: 'echo', inputSize: input.byteLength, inputKind: 'text', inputDigest: 'x', maxAttempts: 3, state, attempts: state === 'pending' ? 0 : 1, ...(state === 'succeeded' ? { result: { echo: 'stored' } } : {}), createdAt: now, updatedAt: now }, input))
    if (writes.length === 5_000) await Promise.all(writes.splice(0))
  }
  await Promise.all(writes)
  await store.close()
}, async (stack) => {
  const url = stack.scheduler.url
  await timeRequests(url, '/tasks?state=pending&limit=100', 20) // warm-up
  return {
    stored: STORED,
    pendingPage: await timeRequests(url, '/tasks?state=pending&limit=100', QUERIES),
    healthLive: await timeRequests(url, '/health/live', QUERIES),
  }
})

console.log(JSON.stringify(result))
console.log(`scheduler (sqlite, durability ${DURABILITY}, HTTP API, local stack): ${result.submit.perSecond} submissions/s (${CLIENTS} clients); ` +
  `${result.complete.tasks} echo tasks on 2x2 slots in ${result.complete.seconds} s (${result.complete.perSecond}/s, ${result.complete.wrong} wrong); ` +
  `GET pending limit=100 at ${STORED} stored: p50 ${result.list.pendingPage.p50Ms} ms (health/live p50 ${result.list.healthLive.p50Ms} ms)`)
