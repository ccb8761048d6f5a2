// Connected peers as operators see them, with a round-trip time per peer. Pings run in
// parallel under one short timeout; a peer that does not answer in time gets latencyMs null.

import {
  type ConnectedPeer,
  type HolePunchResult,
  type HyphaNode,
  LINK_PROBE_MAX_BYTES,
  type LinkProbeResult,
  transportOf,
} from '@hypha/network-core'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { BadGatewayException, BadRequestException, GatewayTimeoutException, Inject, Injectable } from '@nestjs/common'
import { z } from 'zod'
import { HYPHA_NODE } from '../network/network.module.js'

export interface PeerView extends ConnectedPeer {
  /** Ping round trip in milliseconds, null when the ping failed or timed out. */
  latencyMs: number | null
}

export const PEER_LATENCY_TIMEOUT_MS = 1_000

export const LinkRequestSchema = z
  .strictObject({
    /** Close every connection to the peer first, so the link (and its hole punch) is made afresh. */
    fresh: z.boolean().default(false),
    /** Random bytes to move over the link, their SHA-256 checked by the peer; 0 = none. */
    probe_bytes: z.int().min(0).max(LINK_PROBE_MAX_BYTES).default(0),
    /** Budget for the dial, the upgrade to direct and the probe. */
    timeout_ms: z.int().min(100).max(600_000).default(60_000),
  })
  .prefault({})
export type LinkRequest = z.infer<typeof LinkRequestSchema>

export interface LinkView {
  peer: string
  direct: boolean
  transport: string
  address: string
  /** From the request to a direct connection, or to giving up on one. */
  durationMs: number
  holePunch: Omit<HolePunchResult, 'peer'> | null
  probe: LinkProbeResult | null
}

@Injectable()
export class PeersService {
  constructor(@Inject(HYPHA_NODE) private readonly node: HyphaNode) {}

  async link(id: string, request: LinkRequest): Promise<LinkView> {
    let peer: PeerId
    try {
      peer = peerIdFromString(id)
    } catch {
      throw new BadRequestException(`"${id}" is not a peer id`)
    }
    const signal = AbortSignal.timeout(request.timeout_ms)
    try {
      const link = await this.node.connect(peer, { fresh: request.fresh, signal, upgradeTimeoutMs: Math.min(15_000, request.timeout_ms) })
      const probe = request.probe_bytes > 0 ? await this.node.probeLink(link.connection, request.probe_bytes, { signal }) : null
      const { peer: _peer, ...holePunch } = link.holePunch ?? { peer }
      return {
        peer: id,
        direct: link.direct,
        transport: transportOf(link.connection),
        address: link.connection.remoteAddr.toString(),
        durationMs: link.durationMs,
        holePunch: link.holePunch === undefined ? null : (holePunch as Omit<HolePunchResult, 'peer'>),
        probe,
      }
    } catch (err) {
      if (signal.aborted) throw new GatewayTimeoutException(`no link to ${id} within ${request.timeout_ms} ms`)
      // the peer could not be found or dialled, or the probe failed on the way: the network's fault, not the request's
      throw new BadGatewayException(`no link to ${id}: ${(err as Error).name}: ${(err as Error).message}`)
    }
  }

  async list(timeoutMs = PEER_LATENCY_TIMEOUT_MS): Promise<PeerView[]> {
    return this.withLatency(this.node.connectedPeers(), timeoutMs)
  }

  /** Pings each of `peers` (connected peers the caller already listed) under one timeout. */
  async withLatency(peers: readonly ConnectedPeer[], timeoutMs = PEER_LATENCY_TIMEOUT_MS): Promise<PeerView[]> {
    const signal = AbortSignal.timeout(timeoutMs)
    return Promise.all(
      peers.map(async (peer) => {
        try {
          return { ...peer, latencyMs: await this.node.latency(peerIdFromString(peer.id), { signal }) }
        } catch {
          return { ...peer, latencyMs: null }
        }
      }),
    )
  }
}
