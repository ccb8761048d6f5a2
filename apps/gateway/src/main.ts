// hypha-gateway: the public node of a Hypha network: circuit relay server, DHT server, AutoNAT
// server and GossipSub peer (all from createNode's gateway role). It runs no tasks, but it joins
// the task topics: GossipSub forwards a topic only through nodes that joined it, and workers
// often know no peer but the gateway.
import 'reflect-metadata'
import { runNodeApp } from '@hypha/app-kit'
import { defineConfigSchema } from '@hypha/network-core'
import { TASK_TOPICS, relayTaskTopics } from '@hypha/tasks'

export const gatewayConfigSchema = defineConfigSchema({})

await runNodeApp({
  name: 'hypha-gateway',
  role: 'gateway',
  schema: gatewayConfigSchema,
  pubsubTopics: TASK_TOPICS,
  onReady: ({ node }) => {
    relayTaskTopics(node)
  },
})
