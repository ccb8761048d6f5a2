// max_circuits: the relay server has per-connection stream limits but no global cap on the
// circuits it carries; each live circuit holds one outbound STOP stream, so counting those is
// an exact count of circuits, checked when a new one is about to be relayed.
import type { Connection, ConnectionGater } from '@libp2p/interface'

import { RELAY_STOP_PROTOCOL } from '../connection/addresses.js'

export function countActiveCircuits(connections: readonly Connection[]): number {
  let circuits = 0
  for (const connection of connections) {
    for (const stream of connection.streams) {
      if (stream.protocol === RELAY_STOP_PROTOCOL && stream.direction === 'outbound') circuits++
    }
  }
  return circuits
}

export function circuitLimitGater(maxCircuits: number, connections: () => readonly Connection[]): ConnectionGater {
  return {
    denyOutboundRelayedConnection: () => countActiveCircuits(connections()) >= maxCircuits,
  }
}
