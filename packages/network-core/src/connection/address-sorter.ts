// Dial order: QUIC before TCP (QUIC is the primary transport: one round trip less, no
// head-of-line blocking), otherwise libp2p's defaults (public before private, loopback and
// relayed addresses last). The dialler falls back to the next address when one fails.
import type { Address } from '@libp2p/interface'
import { circuitRelayAddressesLast, loopbackAddressLast, publicAddressesFirst, reliableTransportsFirst } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

function isQuic(address: Multiaddr): boolean {
  return address.getComponents().some((c) => c.name === 'quic-v1')
}

export function quicFirst(a: Multiaddr, b: Multiaddr): -1 | 0 | 1 {
  const aQuic = isQuic(a)
  const bQuic = isQuic(b)
  if (aQuic === bQuic) return 0
  return aQuic ? -1 : 1
}

/** libp2p's AddressSorter: a comparator over dial candidates. */
export function compareDialAddresses(a: Address, b: Address): -1 | 0 | 1 {
  return (
    loopbackAddressLast(a.multiaddr, b.multiaddr) ||
    publicAddressesFirst(a.multiaddr, b.multiaddr) ||
    circuitRelayAddressesLast(a.multiaddr, b.multiaddr) ||
    quicFirst(a.multiaddr, b.multiaddr) ||
    (a.isCertified === b.isCertified ? 0 : a.isCertified ? -1 : 1) ||
    reliableTransportsFirst(a.multiaddr, b.multiaddr)
  )
}
