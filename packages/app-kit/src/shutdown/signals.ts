// Signals: Nest's shutdown hooks run the graceful path and exit 0 (useProcessExit, so pino
// flushes); this adds what Nest lacks: a second signal, or a shutdown that overruns its
// budget, forces the exit.
import { readFileSync } from 'node:fs'
import type { INestApplication } from '@nestjs/common'
import type { AppLogger } from '../logging/logger.js'

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const

const SIGNAL_NUMBERS: Record<(typeof SHUTDOWN_SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 }

export function installShutdown(app: INestApplication, logger: AppLogger, forceAfterMs: number): void {
  app.enableShutdownHooks([...SHUTDOWN_SIGNALS], { useProcessExit: true })
  watchShimParent((parent) => {
    logger.info({ parent }, 'the process that started this node (a pnpm node shim) exited: shutting down')
    process.kill(process.pid, 'SIGTERM')
  })
  let received: string | undefined
  for (const signal of SHUTDOWN_SIGNALS) {
    process.on(signal, () => {
      if (received !== undefined) {
        logger.warn({ signal }, 'second signal: exiting without finishing the shutdown')
        process.exit(128 + SIGNAL_NUMBERS[signal])
      }
      received = signal
      logger.info({ signal }, 'shutting down')
      setTimeout(() => {
        logger.error({ signal, forceAfterMs }, 'shutdown took too long: exiting')
        process.exit(1)
      }, forceAfterMs).unref()
    })
  }
}

/** How pnpm's shim for the `node` devDependency appears in its process's command line. */
const PNPM_NODE_SHIM = '/node_modules/.bin/node'

/**
 * pnpm's shim for the `node` devDependency (node_modules/.bin/node, which every bin of this
 * repository runs through) starts node as its child without exec and forwards no signal: a
 * SIGTERM to the PID a supervisor started (`pnpm exec hypha-gateway`, node_modules/.bin/...)
 * ends the shim and leaves the node running as an orphan, and so does a SIGKILL. When our parent
 * is that shim, its exit is our signal to shut down. Linux only (reads /proc); elsewhere a no-op.
 */
export function watchShimParent(onOrphaned: (parentPid: number) => void, intervalMs = 250): void {
  const parent = process.ppid
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${parent}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return
  }
  if (!cmdline.includes(PNPM_NODE_SHIM)) return
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onOrphaned(parent)
  }, intervalMs)
  timer.unref()
}
