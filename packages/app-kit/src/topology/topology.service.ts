// GET /network: nodeView() from network-core (peers, reservations, the relay server's side),
// the peers' ping round trips, and the refusals this node saw.
import { type HyphaNode, nodeView } from '@hypha/network-core'
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common'
import { HYPHA_NODE } from '../network/network.module.js'
import { PeersService } from '../peers/peers.service.js'
import { RefusalLog } from './refusal-log.js'
import type { NetworkViewBody } from './views.js'

@Injectable()
export class TopologyService implements OnModuleDestroy {
  readonly refusals: RefusalLog

  constructor(
    @Inject(HYPHA_NODE) private readonly node: HyphaNode,
    private readonly peers: PeersService,
  ) {
    this.refusals = new RefusalLog(node.identity)
  }

  async view(): Promise<NetworkViewBody> {
    const base = nodeView(this.node)
    return {
      ...base,
      peers: await this.peers.withLatency(base.peers),
      refusals: { recent: this.refusals.recent(), counts: this.refusals.counts() },
    }
  }

  onModuleDestroy(): void {
    this.refusals.close()
  }
}
