// Signals: Nest's shutdown hooks run the graceful path and exit 0 (useProcessExit, so pino
// flushes); this adds what Nest lacks: a second signal, or a shutdown that overruns its
// budget, forces the exit.
import type { INestApplication } from '@nestjs/common'
import type { AppLogger } from '../logging/logger.js'

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const

const SIGNAL_NUMBERS: Record<(typeof SHUTDOWN_SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 }

export function installShutdown(app: INestApplication, logger: AppLogger, forceAfterMs: number): void {
  app.enableShutdownHooks([...SHUTDOWN_SIGNALS], { useProcessExit: true })
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
