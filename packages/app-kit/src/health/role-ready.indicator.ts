// Readiness: the role can do its job (see roleReadiness). Down carries the reason and the
// node's health report so an operator reading the 503 body knows what is missing.

import type { HyphaNode } from '@hypha/network-core'
import { Inject, Injectable } from '@nestjs/common'
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus'
import { HYPHA_NODE } from '../network/network.module.js'
import { roleReadiness } from '../network/readiness.js'

@Injectable()
export class RoleReadyIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(HYPHA_NODE) private readonly node: HyphaNode,
  ) {}

  check(key = 'role'): HealthIndicatorResult {
    const session = this.indicators.check(key)
    const health = this.node.health()
    const readiness = roleReadiness(this.node.role, health)
    const data = { role: this.node.role, ...health }
    return readiness.ready ? session.up(data) : session.down({ ...data, reason: readiness.reason ?? 'not ready' })
  }
}
