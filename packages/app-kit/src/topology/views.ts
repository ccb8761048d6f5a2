// What GET /peers and GET /network answer, as zod schemas: the OpenAPI document is generated
// from them and `hypha-inspect` parses answers with them, so the three cannot drift apart.
import { z } from 'zod'

export const PeerViewSchema = z
  .object({
    id: z.string(),
    addresses: z.array(z.string()),
    transport: z.enum(['quic', 'tcp', 'relay', 'other']),
    direct: z.boolean().meta({ description: 'False when every connection to the peer goes through a relay.' }),
    relay: z.string().nullable().meta({ description: 'The relay a relayed peer is reached through; null when direct.' }),
    direction: z.enum(['inbound', 'outbound']).meta({ description: "Who dialled the connection in use: 'outbound' = this node." }),
    roles: z.array(z.string()).meta({ description: "The roles the peer's verified certificate grants (empty: roleless)." }),
    since: z.string().meta({ description: 'When the oldest open connection was opened (ISO 8601).' }),
    connections: z.number().int(),
    latencyMs: z.number().nullable(),
  })
  .meta({
    description:
      'A connected peer: how it is reached (transport, direct or through which relay), its roles, since when, and a ping round trip (null on timeout).',
  })

export const RefusalSchema = z
  .object({
    at: z.string(),
    reason: z.string().meta({ description: 'untrusted, expired, revoked, peer-id-mismatch, ...' }),
    detail: z.string(),
    via: z.enum(['tls', 'admission', 'recheck']),
    by: z.enum(['local', 'remote']).meta({ description: "'remote': the peer refused this node's certificate." }),
    peerId: z.string().optional(),
    remoteAddr: z.string().optional(),
  })
  .meta({ description: 'A peer refused by the security layer, or one that refused this node.' })

export const NetworkViewSchema = z
  .object({
    peerId: z.string(),
    role: z.string(),
    addresses: z.array(z.string()),
    peers: z.array(PeerViewSchema),
    reservations: z.object({
      needed: z.boolean(),
      relays: z.array(z.string()).meta({ description: 'The relays this node holds a reservation on.' }),
    }),
    relayServer: z
      .object({
        reservations: z.array(z.string()).meta({ description: 'The peers this relay keeps reservations for.' }),
        maxReservations: z.number().int().nullable(),
        circuits: z.number().int(),
        maxCircuits: z.number().int().nullable(),
      })
      .nullable()
      .meta({ description: 'On a relay server (gateway); null elsewhere.' }),
    refusals: z.object({
      recent: z.array(RefusalSchema).meta({ description: 'Newest first, at most 100.' }),
      counts: z.record(z.string(), z.number().int()).meta({ description: 'Refusals by reason since the node started.' }),
    }),
  })
  .meta({ description: "This node's view of the network: its peers and how they are reached, relay reservations, refused peers." })

export type PeerViewBody = z.infer<typeof PeerViewSchema>
export type NetworkViewBody = z.infer<typeof NetworkViewSchema>
