// mDNS discovery that connects: libp2p 3 has no auto-dialler, so a peer found by @libp2p/mdns
// only lands in the peer store. Peers on the same LAN should talk over the LAN, not through the
// router or a relay: each peer mDNS finds is dialled on its direct (non-relayed) addresses unless
// a direct connection to it exists. mDNS sends multicast on the node's interfaces (224.0.0.251).
import type { ComponentLogger, PeerDiscovery, PeerInfo } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { mdns } from '@libp2p/mdns'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isCircuitAddress } from '../connection/addresses.js'

export interface MdnsDialerComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
  [name: string]: unknown
}

export function mdnsDialer(options: { allows: (address: Multiaddr) => boolean; dialTimeoutMs: number }): (components: MdnsDialerComponents) => PeerDiscovery {
  const discovery = mdns()
  return (components) => {
    const service = discovery(components as unknown as Parameters<typeof discovery>[0])
    const log = components.logger.forComponent('hypha:discovery:mdns')
    const onPeer = (evt: CustomEvent<PeerInfo>): void => {
      const { id, multiaddrs } = evt.detail
      const direct = components.connectionManager.getConnections(id).some((c) => !isCircuitAddress(c.remoteAddr))
      const targets = multiaddrs.filter((a) => !isCircuitAddress(a) && options.allows(a)).map((a) => a.encapsulate(`/p2p/${id.toString()}`))
      if (direct || targets.length === 0) return
      components.connectionManager
        .openConnection(targets, { force: true, signal: AbortSignal.timeout(options.dialTimeoutMs) })
        .then((c) => log('connected to %p found by mDNS, over %a', id, c.remoteAddr))
        .catch((err: unknown) => log('could not dial %p found by mDNS - %s', id, (err as Error).message))
    }
    service.addEventListener('peer', onPeer)
    return service
  }
}
