// `lookup PEERID --config FILE`: finds a peer through the network as a node with FILE's
// certificates would (the configuration's bootstrap peers, then the Kademlia DHT, then a
// circuit through a connected relay, as HyphaNode.connect does): the addresses it is known by,
// whether any is directly dialable, and the relays its relayed addresses go through.
// Exit 1 when the network does not know the peer.
import { type HyphaNode, isCircuitAddress, type NetworkConfig, relayOfAddress, transportOfAddress } from '@hypha/network-core'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { InspectError, UsageError } from '../errors.js'
import { json, type Output, paint, table } from '../output.js'
import { withSession } from '../session.js'

/** How long identify may take to tell a peer's addresses after the circuit opened. */
const IDENTIFY_WAIT_MS = 3_000

export interface LookupResult {
  peerId: string
  addresses: Array<{ address: string; transport: string; relay: string | null }>
  /** 'direct': at least one address dials without a relay; 'relayed': only circuit addresses (the peer is behind NAT). */
  reachability: 'direct' | 'relayed'
  relays: string[]
  /** Where the addresses came from: a DHT lookup, or the peer itself over a circuit through a connected relay. */
  via: 'dht' | 'relay'
  durationMs: number
}

export async function lookup(id: string, options: { config: NetworkConfig; timeoutMs: number }): Promise<LookupResult> {
  let peer: ReturnType<typeof peerIdFromString>
  try {
    peer = peerIdFromString(id)
  } catch {
    throw new UsageError(`'${id}' is not a peer id`)
  }
  if (options.config.network.bootstrapPeers.length === 0) {
    throw new UsageError('the configuration names no bootstrap peers: lookup needs a way into the network (network.bootstrap_peers)')
  }
  return withSession(options.config, { bootstrap: true }, async ({ node }) => {
    const started = Date.now()
    const signal = AbortSignal.timeout(options.timeoutMs)
    await waitForBootstrap(() => node.health().bootstrapConnected, signal)
    let addresses: Multiaddr[]
    let via: LookupResult['via'] = 'dht'
    try {
      addresses = (await node.findPeer(peer, { signal })).multiaddrs
    } catch (err) {
      // A DHT client (every worker) is in no routing table; a relay knows the peers it keeps
      // reservations for by id: a circuit through it reaches them, and identify tells their addresses.
      const relayed = await throughRelay(node, peer, signal).catch(() => undefined)
      if (relayed === undefined) {
        throw new InspectError(
          signal.aborted ? `${id} not found within ${options.timeoutMs} ms` : `${id} not found: ${(err as Error).message}`,
        )
      }
      addresses = relayed
      via = 'relay'
    }
    if (addresses.length === 0) throw new InspectError(`${id} is known to the network but without an address`)
    // each address dialable as printed: ending with the peer's id, as `probe` wants it
    const dialable = (a: Multiaddr) => (a.toString().endsWith(`/p2p/${id}`) ? a.toString() : `${a.toString()}/p2p/${id}`)
    const rows = addresses.map((a) => ({ address: dialable(a), transport: transportOfAddress(a), relay: relayOfAddress(a) ?? null }))
    return {
      peerId: id,
      addresses: rows,
      reachability: addresses.some((a) => !isCircuitAddress(a)) ? 'direct' : 'relayed',
      relays: [...new Set(rows.flatMap((r) => r.relay ?? []))],
      via,
      durationMs: Date.now() - started,
    }
  })
}

export async function lookupCommand(
  id: string,
  options: { config: NetworkConfig; timeoutMs: number; json: boolean },
  output: Output,
): Promise<number> {
  const result = await lookup(id, options)
  if (options.json) {
    output.write(json(result))
    return 0
  }
  const how = result.via === 'dht' ? 'the DHT' : `its relay ${result.relays[0] ?? ''}`
  output.write(
    `${result.peerId}: ${result.reachability === 'direct' ? paint(output, 'green', 'directly dialable') : paint(output, 'yellow', 'relayed only (behind NAT)')}, found through ${how} in ${result.durationMs} ms\n\n`,
  )
  output.write(
    table(
      ['address', 'transport', 'relay'],
      result.addresses.map((a) => [a.address, a.transport, a.relay ?? '-']),
    ),
  )
  return 0
}

/** The peer's addresses as it announces them (identify), reached over a circuit through a connected relay. */
async function throughRelay(node: HyphaNode, peer: PeerId, signal: AbortSignal): Promise<Multiaddr[] | undefined> {
  const relay = await node.libp2p.services.reservations.connectedRelay()
  if (relay === undefined) return undefined
  const circuit = relay.encapsulate(`/p2p-circuit/p2p/${peer.toString()}`)
  const connection = await node.dial(circuit, { signal })
  try {
    const deadline = Date.now() + IDENTIFY_WAIT_MS
    for (;;) {
      const known = (await node.libp2p.peerStore.get(peer).catch(() => undefined))?.addresses.map((a) => a.multiaddr) ?? []
      if (known.length > 0 || Date.now() > deadline || signal.aborted) {
        const all = [...known, circuit]
        return all.filter((a, i) => all.findIndex((b) => b.equals(a)) === i)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await connection.close().catch(() => undefined)
  }
}

async function waitForBootstrap(connected: () => boolean, signal: AbortSignal): Promise<void> {
  while (!connected()) {
    if (signal.aborted) throw new InspectError('no bootstrap peer answered: check network.bootstrap_peers and the certificates')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
