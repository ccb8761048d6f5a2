// One node's view of the network, as the operator's page and `hypha-inspect peers` show it:
// who it is, whom it is connected to and how (direct or through which relay), the
// reservations it holds on relays and, on a relay server, the ones it keeps for others.
import { relayOfAddress } from '../connection/addresses.js'
import { countActiveCircuits } from '../nat/circuit-limit.js'
import { relayServerState } from '../nat/relay-server-state.js'
import type { ConnectedPeer, HyphaNode } from './hypha-node.js'

export interface NodeView {
  peerId: string
  role: string
  /** The addresses the node announces (circuit addresses included). */
  addresses: string[]
  peers: ConnectedPeer[]
  reservations: {
    /** Whether this node should hold a relay reservation (behind NAT, or reachability private). */
    needed: boolean
    /** The relays it holds one on. */
    relays: string[]
  }
  /** On a relay server: the peers it keeps reservations for and the circuits it carries; null elsewhere. */
  relayServer: { reservations: string[]; maxReservations: number | null; circuits: number; maxCircuits: number | null } | null
}

export function nodeView(node: HyphaNode): NodeView {
  const keeper = node.libp2p.services.reservations
  const server = relayServerState(node.libp2p.services.relay)
  const limits = node.config?.network.relay
  return {
    peerId: node.peerId.toString(),
    role: node.role,
    addresses: node.getMultiaddrs().map((a) => a.toString()),
    peers: node.connectedPeers(),
    reservations: {
      needed: keeper.needsReservation(),
      relays: [...new Set(keeper.circuitAddresses().flatMap((a) => relayOfAddress(a) ?? []))].sort(),
    },
    relayServer:
      server === undefined
        ? null
        : {
            reservations: [...server.reservations.keys()].map((p) => p.toString()).sort(),
            maxReservations: limits?.reservations ?? null,
            circuits: countActiveCircuits(node.libp2p.getConnections()),
            maxCircuits: limits?.maxCircuits ?? null,
          },
  }
}
