// GET /metrics: the node's Prometheus registry (libp2p's metrics, hypha_*, and the process's).

import type { HyphaNode, NetworkConfig } from '@hypha/network-core'
import { Controller, Get, Inject, NotFoundException, Res } from '@nestjs/common'
import { HYPHA_CONFIG } from '../config/config.module.js'
import { HYPHA_NODE } from '../network/network.module.js'

/** The little of the platform's response this controller touches (express or fastify alike). */
interface HeaderSink {
  header(name: string, value: string): unknown
}

@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(HYPHA_NODE) private readonly node: HyphaNode,
    @Inject(HYPHA_CONFIG) private readonly config: NetworkConfig,
  ) {}

  @Get()
  async metrics(@Res({ passthrough: true }) res: HeaderSink): Promise<string> {
    if (!this.config.metrics.enabled) throw new NotFoundException('metrics are disabled (metrics.enabled = false)')
    res.header('Content-Type', this.node.registry.contentType)
    return this.node.registry.metrics()
  }
}
