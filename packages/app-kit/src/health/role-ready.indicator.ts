// Readiness: the role can do its job (see roleReadiness). Down carries the reason and the
// node's health report so an operator reading the 503 body knows what is missing.

import type { HyphaNode } from '@hypha/network-core'
import { Inject, Injectable } from '@nestjs/common'
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino'
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus'
import { HYPHA_NODE } from '../network/network.module.js'
import { roleReadiness } from '../network/readiness.js'

@Injectable()
export class RoleReadyIndicator {
  /** The last answer, so a change is logged once (info) and repeats only at debug. */
  #lastReady: boolean | undefined

  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(HYPHA_NODE) private readonly node: HyphaNode,
    // the app's own logger (not Nest's process-wide static one)
    @InjectPinoLogger('Readiness') private readonly log: PinoLogger,
  ) {}

  check(key = 'role'): HealthIndicatorResult {
    const session = this.indicators.check(key)
    const health = this.node.health()
    const readiness = roleReadiness(this.node.role, health)
    const data = { role: this.node.role, ...health }
    this.#note(readiness.ready, readiness.reason)
    return readiness.ready ? session.up(data) : session.down({ ...data, reason: readiness.reason ?? 'not ready' })
  }

  #note(ready: boolean, reason: string | undefined): void {
    // the reason may carry a countdown ("next attempt in 12 s"): only the state change is news
    const changed = this.#lastReady !== ready
    this.#lastReady = ready
    if (!changed) {
      if (!ready) this.log.debug(`not ready: ${reason ?? 'not ready'}`)
      return
    }
    if (ready) this.log.info('ready')
    else this.log.info(`not ready: ${reason ?? 'not ready'}`)
  }
}
