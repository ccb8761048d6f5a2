// One scheduler and many workers, as processes: the scheduler alone in its process (its CPU time
// and RSS are its own), the workers spread over 10 host processes (each worker a Hypha node of
// its own: certificate, PeerId, TCP + mTLS connection to the scheduler, a Worker engine of
// capacity 1). For each size in BENCH_SCHED_WORKERS (default 50,100,200; the first is the
// baseline of the ratios):
//  - registration: time until the scheduler knows every worker connected;
//  - idle cost: the scheduler's CPU (share of one core) and RSS per worker, over 10 s;
//  - placement, three times: as many instant (echo) tasks as workers submitted at once (the first
//    such burst, cold, and a second, warm), then max(200, 4 x workers) (BENCH_SCHED_STEADY_TASKS)
//    one every BENCH_SCHED_STEADY_MS (default 50) to idle workers: tasks/s placed, p50/p99 from the submit call to
//    'task:assigned', offers the scheduler answered per task, CPU per task of the scheduler and
//    of all the workers;
//  - crash: as many 4 s sleep tasks as workers, once all are assigned one host process is
//    SIGKILLed (10% of the workers): every task must still succeed (leases run out, re-queued).
// 1,000 workers do not fit this 2-core machine as processes of full nodes (the figures say where
// it ends); docs/benchmarks.md extrapolates from the per-worker costs measured here.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { forkChild, makePki, median, percentile, round, stopChild } from './lib/common.mjs'
import { ask } from './lib/distributed-swarm.mjs'
import { waitUntil } from './lib/swarm.mjs'

const LEVELS = (process.env.BENCH_SCHED_WORKERS ?? '50,100,200').split(',').map(Number)
const HOSTS = 10
const LEASE_MS = 3_000
const IDLE_MS = 10_000
/** The steady phase submits one task this often, to idle workers. */
const STEADY_INTERVAL_MS = Number(process.env.BENCH_SCHED_STEADY_MS ?? 50)
/** Tasks in the steady phase: enough for the workers' offer shares to settle (offer-share.ts). */
const steadyTasks = (workers) => Number(process.env.BENCH_SCHED_STEADY_TASKS ?? Math.max(200, 4 * workers))
const here = (file) => join(fileURLToPath(new URL('.', import.meta.url)), file)

/** A placement phase's figures: rates, latencies, offers per task, CPU per task on each side. */
function summarise(run, done, workersCpuMs) {
  const offers = Object.values(run.offers).reduce((a, b) => a + b, 0)
  return {
    tasks: run.ids.length,
    placed: run.placed,
    placedPerS: round((run.placed / run.spanMs) * 1000, 1),
    p50Ms: round(median(run.placementMs), 1),
    p99Ms: round(percentile(run.placementMs, 99), 1),
    offersPerTask: round(offers / run.ids.length, 2),
    takenPerTask: round((run.offers.taken ?? 0) / run.ids.length, 2),
    answers: run.offers,
    schedulerCpuMsPerTask: round(run.cpuMs / run.ids.length, 2),
    workersCpuMsPerTask: round(workersCpuMs / run.ids.length, 2),
    allSucceeded: done.done,
  }
}

async function level(workers) {
  const names = Array.from({ length: workers }, (_, i) => `worker-${i}`)
  const { pki } = await makePki(['scheduler', ...names])
  const { child: scheduler, info } = await forkChild(here('lib/scheduler-host.mjs'), { files: pki.nodes.scheduler, leaseMs: LEASE_MS })
  const hosts = []
  try {
    const empty = await ask(scheduler, 'stats')
    const registerStarted = Date.now()
    const perHost = Math.ceil(workers / HOSTS)
    for (let h = 0; h < HOSTS && h * perHost < workers; h++) {
      const files = names.slice(h * perHost, (h + 1) * perHost).map((n) => pki.nodes[n])
      hosts.push(forkChild(here('lib/worker-host.mjs'), { files, bootstrap: [info.address] }, process.execArgv, 300_000))
    }
    const started = await Promise.all(hosts)
    await waitUntil(`${workers} workers registered`, async () => (await ask(scheduler, 'workers')).connected >= workers, 300_000, 250)
    const registerMs = Date.now() - registerStarted

    const idleFrom = await ask(scheduler, 'stats')
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    const idleTo = await ask(scheduler, 'stats')
    const cpuShare = (idleTo.cpuUs - idleFrom.cpuUs) / 1000 / IDLE_MS

    // the first burst runs every code path of 11 processes for the first time (V8 compiles as it
    // goes, every worker opens its protocol streams): it is timed apart from the warm ones
    const hostsCpuMs = async () => (await Promise.all(started.map(({ child }) => ask(child, 'stats')))).reduce((sum, s) => sum + s.cpuUs, 0) / 1000
    const phase = async (spec) => {
      const hostsBefore = await hostsCpuMs()
      const run = await ask(scheduler, 'submit', { count: workers, executor: 'echo', input: 'x', timeoutMs: 120_000, ...spec })
      const workersCpuMs = (await hostsCpuMs()) - hostsBefore
      const done = await ask(scheduler, 'finish', { ids: run.ids, timeoutMs: 120_000 })
      return summarise(run, done, workersCpuMs)
    }
    const coldBurst = await phase({})
    const warmBurst = await phase({})
    const steady = await phase({ intervalMs: STEADY_INTERVAL_MS, count: steadyTasks(workers) })

    const sleepers = await ask(scheduler, 'submit', { count: workers, executor: 'sleep', input: '4000', timeoutMs: 120_000 })
    const victim = started[0].child
    const killedWorkers = Math.min(perHost, workers)
    victim.kill('SIGKILL')
    const crash = await ask(scheduler, 'finish', { ids: sleepers.ids, timeoutMs: 180_000 })

    return {
      bench: 'scheduler-scale',
      workers,
      hosts: started.length,
      registerMs,
      schedulerConnections: idleTo.connections,
      idleCpuPercentOfCore: round(cpuShare * 100, 2),
      idleCpuPercentPerWorker: round((cpuShare * 100) / workers, 4),
      rssMiB: round(idleTo.rss / 1048576, 1),
      rssPerWorkerKiB: round((idleTo.rss - empty.rss) / 1024 / workers, 1),
      coldBurst,
      warmBurst,
      steady: { intervalMs: STEADY_INTERVAL_MS, ...steady },
      crash: {
        killedWorkers,
        tasks: workers,
        succeeded: crash.succeeded,
        requeued: crash.requeued,
        allSucceeded: crash.done,
        afterKillMs: Math.round(crash.durationMs),
      },
    }
  } finally {
    for (const pending of hosts) {
      const host = await pending.catch(() => undefined)
      if (host !== undefined) await stopChild(host.child)
    }
    await stopChild(scheduler)
  }
}

const results = []
for (const workers of LEVELS) {
  const result = await level(workers)
  results.push(result)
  console.log(JSON.stringify(result))
}
const base = results[0]
const top = results.at(-1)
const figures = (p) => `p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, ${p.offersPerTask} offers/task`
console.log(
  `scheduler-scale: ${top.workers} workers: steady (a task per ${STEADY_INTERVAL_MS} ms) ${figures(top.steady)}; ` +
    `warm burst of ${top.workers}: ${figures(top.warmBurst)}, ${top.warmBurst.placedPerS} tasks/s; cold burst ${figures(top.coldBurst)}; ` +
    `scheduler ${top.idleCpuPercentPerWorker}% of a core and ${top.rssPerWorkerKiB} KiB per worker idle; ` +
    `${top.crash.killedWorkers} crashed: ${top.crash.succeeded}/${top.crash.tasks} succeeded (${top.crash.requeued} re-queued) ` +
    `(${base.workers} workers: steady ${figures(base.steady)}; steady p50 ratio ${round(top.steady.p50Ms / base.steady.p50Ms, 2)}x)`,
)
process.exit(0)
