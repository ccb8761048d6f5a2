// Connected peers as operators see them, with a round-trip time per peer. Pings run in
// parallel under one short timeout; a peer that does not answer in time gets latencyMs null.

import type { ConnectedPeer, HyphaNode } from '@hypha/network-core'
import { peerIdFromString } from '@libp2p/peer-id'
import { Inject, Injectable } from '@nestjs/common'
import { HYPHA_NODE } from '../network/network.module.js'

export interface PeerView extends ConnectedPeer {
  /** Ping round trip in milliseconds, null when the ping failed or timed out. */
  latencyMs: number | null
}

export const PEER_LATENCY_TIMEOUT_MS = 1_000

@Injectable()
export class PeersService {
  constructor(@Inject(HYPHA_NODE) private readonly node: HyphaNode) {}

  async list(timeoutMs = PEER_LATENCY_TIMEOUT_MS): Promise<PeerView[]> {
    const signal = AbortSignal.timeout(timeoutMs)
    return Promise.all(
      this.node.connectedPeers().map(async (peer) => {
        try {
          return { ...peer, latencyMs: await this.node.latency(peerIdFromString(peer.id), { signal }) }
        } catch {
          return { ...peer, latencyMs: null }
        }
      }),
    )
  }
}
