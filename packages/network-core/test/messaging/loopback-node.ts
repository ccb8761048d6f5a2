// A plain libp2p node on loopback for the messaging integration tests: TCP, noise and yamux,
// listening on 127.0.0.1 with any free port, dialling loopback allowed; the services under test
// are the caller's.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, ServiceMap } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'

export function loopbackNode<S extends ServiceMap>(
  services: NonNullable<Libp2pOptions<S>['services']>,
  extra: Pick<Libp2pOptions<S>, 'connectionManager'> = {},
): Promise<Libp2p<S>> {
  return createLibp2p<S>({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    ...extra,
    services,
  })
}

/** The node's first listen address. */
export function listenAddress(node: Libp2p): Multiaddr {
  const first = node.getMultiaddrs()[0]
  if (first == null) throw new Error('node has no listen address')
  return first
}
