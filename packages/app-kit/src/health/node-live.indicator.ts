// Liveness: the process answers HTTP (implicitly) and the libp2p node is running.

import type { HyphaNode } from '@hypha/network-core'
import { Inject, Injectable } from '@nestjs/common'
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus'
import { HYPHA_NODE } from '../network/network.module.js'

@Injectable()
export class NodeLiveIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(HYPHA_NODE) private readonly node: HyphaNode,
  ) {}

  check(key = 'libp2p'): HealthIndicatorResult {
    const session = this.indicators.check(key)
    const status = this.node.libp2p.status
    return status === 'started' ? session.up({ libp2p: status }) : session.down({ libp2p: status })
  }
}
