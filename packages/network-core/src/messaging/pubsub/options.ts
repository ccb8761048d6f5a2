// The gossipsub() init Hypha runs with: signed messages, publishing before peers join, gossip
// over relays, frame limits tied to maxMessageBytes and peer scoring that punishes invalid messages.

import type { GossipsubOpts } from '@libp2p/gossipsub'
import { StrictSign } from '@libp2p/gossipsub'
import type { PeerScoreParams, TopicScoreParams } from '@libp2p/gossipsub/score'
import { PubSubConfigError } from './errors.js'

export interface GossipsubOptionsInit {
  /** Largest encoded envelope a TypedPubSub may publish or accept; pass the same value to both. */
  maxMessageBytes: number
  /**
   * Topics whose invalid messages lower the sender's score. Gossipsub scores only the topics
   * listed in `scoreParams.topics`: on any other topic a Reject still stops forwarding, but
   * the sender's score does not move. List every TypedPubSub topic here.
   */
  scoredTopics?: readonly string[]
  /**
   * Apply gossipsub's IP colocation penalty (P6) above this many peers per IP. Off by default:
   * Hypha workers share addresses behind NAT, a Docker host or a Kubernetes node, and P6 would
   * graylist such a group as a whole once it passes the threshold, while admission by
   * certificate already bounds identities. Turn it on for `open` security mode if you want it.
   */
  ipColocationFactorThreshold?: number
}

/**
 * The default gossipsub RPC frame limit (it-length-prefixed's 4 MiB), kept as the floor.
 */
const DEFAULT_FRAME_BYTES = 4 * 1024 * 1024
/**
 * A frame carries one or more messages plus signature, key, seqno, topic and piggybacked
 * control (IHAVE/IWANT ids), so it needs room beyond the message itself.
 */
const FRAME_OVERHEAD_BYTES = 64 * 1024
/**
 * Gossipsub answers an IWANT with every wanted message in one RPC and does not split it,
 * so a frame must hold several full-size messages or the reader drops the whole stream.
 */
const MESSAGES_PER_FRAME = 4

/**
 * Score parameters for one Hypha topic. Gossipsub's defaults are tuned for a busy network
 * (P3 expects 20 deliveries per 10 s from each mesh peer); Hypha's topics are bursty, and on a
 * quiet topic the default P3 penalty (-200) would graylist every honest mesh peer.
 */
export function hyphaTopicScoreParams(): TopicScoreParams {
  return {
    topicWeight: 1,
    // P1: up to +6 for ten minutes in the mesh, so a newcomer is not far behind.
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 600,
    // P2: reward being first to deliver, decaying with a ~70 s half-life (decay runs each second).
    firstMessageDeliveriesWeight: 1,
    firstMessageDeliveriesDecay: 0.99,
    firstMessageDeliveriesCap: 10,
    // P3/P3b off: a quiet mesh peer is not a misbehaving one on a bursty topic.
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 100,
    meshMessageDeliveriesThreshold: 20,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    // P4: the penalty is -20 x count^2. Honest scores are capped at +10 (topicScoreCap), so
    // one invalid message cancels the best honest score twice over; with the default thresholds
    // two put the peer below publish (-50) and three below graylist (-80). Publish validates
    // before sending, so honest nodes never pay this. The count halves in ~70 s.
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.99,
  }
}

/** The init to pass to `gossipsub()` for a node whose TypedPubSub uses `maxMessageBytes`. */
export function gossipsubOptions(init: GossipsubOptionsInit): Partial<GossipsubOpts> {
  const { maxMessageBytes, scoredTopics = [], ipColocationFactorThreshold } = init
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes <= 0) {
    throw new PubSubConfigError(`maxMessageBytes must be a positive integer, got ${maxMessageBytes}`)
  }
  if (ipColocationFactorThreshold !== undefined && !(ipColocationFactorThreshold >= 1)) {
    throw new PubSubConfigError(`ipColocationFactorThreshold must be at least 1, got ${ipColocationFactorThreshold}`)
  }
  const topics: Record<string, TopicScoreParams> = {}
  for (const topic of scoredTopics) topics[topic] = hyphaTopicScoreParams()
  const scoreParams: Partial<PeerScoreParams> = {
    topics,
    ...(ipColocationFactorThreshold === undefined
      ? { IPColocationFactorWeight: 0 }
      : { IPColocationFactorThreshold: ipColocationFactorThreshold }),
  }
  return {
    // The default already, stated so that a change upstream cannot silently turn signing off:
    // unsigned messages cannot be attributed, so they could not be scored or audited.
    globalSignaturePolicy: StrictSign,
    // A scheduler may publish before any worker has joined the topic; that is not an error.
    allowPublishToZeroTopicPeers: true,
    // Workers behind NAT may only be reachable over a circuit relay; they still need gossip.
    runOnLimitedConnection: true,
    maxInboundDataLength: Math.max(DEFAULT_FRAME_BYTES, MESSAGES_PER_FRAME * maxMessageBytes + FRAME_OVERHEAD_BYTES),
    scoreParams,
    fastMsgIdFn: fastMessageId,
  }
}

/**
 * Without a fast id gossipsub checks the signature of every copy of a message before it looks
 * the message id up. A node gets a copy from each mesh peer (D = 6). The 30-node run of
 * bench/gossip-scale.mjs spent 60% of its CPU on Ed25519 verification and key decoding, and
 * its p50 latency reached 0.8 s. The fast id is StrictSign's message id itself: the
 * publisher's id and sequence number.
 *
 * It is only remembered once a copy has passed validation, so a forged copy cannot hide the
 * genuine one. A later copy with the same publisher and sequence number is the same message to
 * gossipsub anyway.
 */
export function fastMessageId(message: { from?: Uint8Array; seqno?: Uint8Array }): string {
  if (message.from === undefined || message.seqno === undefined) return '' // unsigned: fails validation, never cached
  return `${Buffer.from(message.from.buffer, message.from.byteOffset, message.from.byteLength).toString('base64')}:${Buffer.from(message.seqno.buffer, message.seqno.byteOffset, message.seqno.byteLength).toString('hex')}`
}
