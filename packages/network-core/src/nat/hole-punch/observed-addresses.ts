// The TCP addresses remote peers observed this node at (identify's observedAddr over direct
// connections), newest first. libp2p's address manager ignores TCP observations because its dials
// leave from ephemeral ports (js-libp2p #2620); the reuseport transport dials from the listen port,
// so an observation is the NAT mapping of that port: the address a hole punch must target.
import { CODE_P2P, type Multiaddr } from '@multiformats/multiaddr'
import { setBounded } from './bounded-map.js'

/** A node behind one NAT has one or two mappings; more means a symmetric NAT, where none helps. */
const MAX_ADDRESSES = 8

export class ObservedTcpAddresses {
  readonly #seen = new Map<string, Multiaddr>()

  record(observed: Multiaddr): void {
    // identify may append our own /p2p/<id>; a CONNECT carries bare transport addresses
    const address = observed.decapsulateCode(CODE_P2P)
    // re-inserting moves the key to the end: the map's order is oldest to newest
    setBounded(this.#seen, address.toString(), address, MAX_ADDRESSES)
  }

  list(): Multiaddr[] {
    return [...this.#seen.values()].reverse()
  }
}
