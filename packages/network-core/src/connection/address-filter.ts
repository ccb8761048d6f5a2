// exclude_cidrs: addresses in these ranges are never dialled, never handed to the DHT and never
// announced. (Hypha's own exclude_cidr only warns and still dials; this one refuses.)
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import type { Multiaddr } from '@multiformats/multiaddr'

export class AddressFilter {
  readonly #blocked = new BlockList()
  readonly #empty: boolean

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefix = ''] = cidr.split('/')
      this.#blocked.addSubnet(address, Number(prefix), isIPv6(address) ? 'ipv6' : 'ipv4')
    }
    this.#empty = cidrs.length === 0
  }

  /** True when the multiaddr's IP lies in an excluded range (addresses without an IP never are). */
  isExcluded(address: Multiaddr): boolean {
    if (this.#empty) return false
    const ip = address.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
    if (ip === undefined) return false
    return this.#blocked.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')
  }

  allows = (address: Multiaddr): boolean => !this.isExcluded(address)
}
