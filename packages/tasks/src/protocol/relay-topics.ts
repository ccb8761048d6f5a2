// For nodes that neither schedule nor work (gateways): GossipSub forwards only topics a node has
// joined, so a gateway between schedulers and workers must join the task topics to carry them.
import type { TypedPubSub } from '@hypha/network-core'
import { ANNOUNCE_TOPIC, AnnouncementSchema, WORKER_STATUS_TOPIC, WorkerStatusSchema } from './messages.js'

/** Joins the task topics (validating what is relayed) without acting on them; returns leave(). */
export function relayTaskTopics(node: { readonly pubsub: Pick<TypedPubSub, 'topic'> }): () => void {
  const leave = [
    node.pubsub.topic(ANNOUNCE_TOPIC, AnnouncementSchema).subscribe(() => undefined),
    node.pubsub.topic(WORKER_STATUS_TOPIC, WorkerStatusSchema).subscribe(() => undefined),
  ]
  return () => { for (const fn of leave) fn() }
}
