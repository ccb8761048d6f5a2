// hypha-gateway: the public node of a Hypha network: circuit relay server, DHT server, AutoNAT
// server and GossipSub peer (all from createNode's gateway role). It runs no tasks.
import 'reflect-metadata'
import { runNodeApp } from '@hypha/app-kit'
import { defineConfigSchema } from '@hypha/network-core'

export const gatewayConfigSchema = defineConfigSchema({})

await runNodeApp({ name: 'hypha-gateway', role: 'gateway', schema: gatewayConfigSchema })
