// Graceful shutdown, in the order a load balancer and the peers expect: stop accepting HTTP,
// let the role finish (its hooks, bounded in time), then the node stops (NetworkModule's
// onApplicationShutdown). Runs from Nest's beforeApplicationShutdown, so both a signal and
// app.close() take the same path.
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common'
import { HttpAdapterHost } from '@nestjs/core'

/** A role's shutdown step; `signal` aborts when the shutdown budget is spent. */
export type ShutdownHook = (context: { signal: AbortSignal; reason: string | undefined }) => Promise<void> | void

export const SHUTDOWN_OPTIONS = Symbol.for('hypha:shutdown-options')

export interface ShutdownOptions {
  /** Time all role hooks together may take (default 10 s). */
  hooksTimeoutMs: number
}

export const DEFAULT_SHUTDOWN_OPTIONS: ShutdownOptions = { hooksTimeoutMs: 10_000 }

/** The slice of node:http's Server this service uses. */
interface ClosableServer {
  listening: boolean
  close(callback?: (err?: Error) => void): unknown
  closeIdleConnections?(): void
  closeAllConnections?(): void
}

@Injectable()
export class ShutdownService implements BeforeApplicationShutdown {
  readonly #log = new Logger('Shutdown')
  readonly #hooks: Array<{ name: string; hook: ShutdownHook }> = []
  readonly #options: ShutdownOptions
  #ran = false

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(SHUTDOWN_OPTIONS) options?: ShutdownOptions,
  ) {
    this.#options = options ?? DEFAULT_SHUTDOWN_OPTIONS
  }

  /** Registers a role hook; hooks run in reverse order of registration (last started, first stopped). */
  register(name: string, hook: ShutdownHook): void {
    this.#hooks.push({ name, hook })
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (this.#ran) return
    this.#ran = true
    const server = this.#httpServer()
    if (server?.listening === true) {
      // stop accepting; idle keep-alive sockets would otherwise hold the server open
      server.close()
      server.closeIdleConnections?.()
      this.#log.log(`stopped accepting HTTP connections${signal === undefined ? '' : ` (${signal})`}`)
    }
    await this.#runHooks(signal)
    server?.closeAllConnections?.()
  }

  async #runHooks(reason: string | undefined): Promise<void> {
    if (this.#hooks.length === 0) return
    const budget = AbortSignal.timeout(this.#options.hooksTimeoutMs)
    const expired = new Promise<'timeout'>((resolve) => budget.addEventListener('abort', () => resolve('timeout'), { once: true }))
    for (const { name, hook } of [...this.#hooks].reverse()) {
      if (budget.aborted) {
        this.#log.warn(`shutdown hook "${name}" skipped: the ${this.#options.hooksTimeoutMs} ms budget is spent`)
        continue
      }
      try {
        const outcome = await Promise.race([Promise.resolve(hook({ signal: budget, reason })).then(() => 'done' as const), expired])
        if (outcome === 'timeout') this.#log.warn(`shutdown hook "${name}" did not finish within ${this.#options.hooksTimeoutMs} ms`)
      } catch (err) {
        this.#log.error(`shutdown hook "${name}" failed: ${err instanceof Error ? err.message : String(err)}`)
      }
    }
  }

  #httpServer(): ClosableServer | undefined {
    const adapter = this.adapterHost.httpAdapter as { getHttpServer(): unknown } | undefined
    return adapter?.getHttpServer() as ClosableServer | undefined
  }
}
