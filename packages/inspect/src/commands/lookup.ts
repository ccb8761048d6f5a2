// `lookup PEERID --config FILE`: finds a peer through the network (the configuration's bootstrap
// peers, then the Kademlia DHT) as a node with FILE's certificates would: the addresses it is
// known by, whether any is directly dialable, and the relays its relayed addresses go through.
// Exit 1 when the network does not know the peer.
import { isCircuitAddress, type NetworkConfig, relayOfAddress, transportOfAddress } from '@hypha/network-core'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { InspectError, UsageError } from '../errors.js'
import { json, type Output, paint, table } from '../output.js'
import { withSession } from '../session.js'

export interface LookupResult {
  peerId: string
  addresses: Array<{ address: string; transport: string; relay: string | null }>
  /** 'direct': at least one address dials without a relay; 'relayed': only circuit addresses (the peer is behind NAT). */
  reachability: 'direct' | 'relayed'
  relays: string[]
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
    try {
      addresses = (await node.findPeer(peer, { signal })).multiaddrs
    } catch (err) {
      throw new InspectError(
        signal.aborted ? `${id} not found within ${options.timeoutMs} ms` : `${id} not found: ${(err as Error).message}`,
      )
    }
    if (addresses.length === 0) throw new InspectError(`${id} is known to the network but without an address`)
    const rows = addresses.map((a) => ({ address: a.toString(), transport: transportOfAddress(a), relay: relayOfAddress(a) ?? null }))
    return {
      peerId: id,
      addresses: rows,
      reachability: addresses.some((a) => !isCircuitAddress(a)) ? 'direct' : 'relayed',
      relays: [...new Set(rows.flatMap((r) => r.relay ?? []))],
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
  output.write(
    `${result.peerId}: ${result.reachability === 'direct' ? paint(output, 'green', 'directly dialable') : paint(output, 'yellow', 'relayed only (behind NAT)')}, found in ${result.durationMs} ms\n\n`,
  )
  output.write(
    table(
      ['address', 'transport', 'relay'],
      result.addresses.map((a) => [a.address, a.transport, a.relay ?? '-']),
    ),
  )
  return 0
}

async function waitForBootstrap(connected: () => boolean, signal: AbortSignal): Promise<void> {
  while (!connected()) {
    if (signal.aborted) throw new InspectError('no bootstrap peer answered: check network.bootstrap_peers and the certificates')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
