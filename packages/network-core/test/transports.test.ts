// Transports through the node factory, with mTLS on: each transport alone, both together with
// QUIC preferred, fallback to TCP when QUIC does not answer, and exclude_cidrs refusing dials.
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { transportOf } from '../src/connection/addresses.js'
import { addressOf, useTestNetwork } from '../src/testing/test-network.js'

const net = useTestNetwork(12)

describe('transports', () => {
  it.each(['tcp', 'quic'] as const)('connects over %s alone, secured by the organisation CA', async (transport) => {
    const a = await net().start({ transports: transport })
    const b = await net().start({ transports: transport })
    const connection = await a.dial(multiaddr(addressOf(b, transport)))
    expect(transportOf(connection)).toBe(transport)
    expect(connection.encryption).toBe(transport === 'tcp' ? '/hypha/mtls/1.0.0' : 'native')
    expect(await a.latency(b.peerId)).toBeGreaterThanOrEqual(0)
    expect(a.connectedPeers()).toEqual([expect.objectContaining({ id: b.peerId.toString(), transport, direct: true, connections: 1 })])
  })

  it('prefers QUIC when the peer offers both', async () => {
    const a = await net().start({ transports: 'both' })
    const b = await net().start({ transports: 'both' })
    await a.libp2p.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs() })
    const connection = await a.dial(b.peerId)
    expect(transportOf(connection)).toBe('quic')
  })

  it('falls back to TCP when QUIC does not answer', async () => {
    const a = await net().start({ transports: 'both' })
    const b = await net().start({ transports: 'tcp' })
    // A QUIC address where nothing listens (B has no QUIC), sorted first by the dialler.
    const deadQuic = multiaddr(`/ip4/127.0.0.1/udp/9/quic-v1/p2p/${b.peerId.toString()}`)
    await a.libp2p.peerStore.merge(b.peerId, { multiaddrs: [deadQuic, ...b.getMultiaddrs()] })
    const connection = await a.dial(b.peerId)
    expect(transportOf(connection)).toBe('tcp')
  })

  it("never dials a peer's loopback address on its own listen port (that would be itself)", async () => {
    const a = await net().start({ transports: 'both' })
    const b = await net().start({ transports: 'both' })
    // what a NATed peer announces from its container: loopback on the port every worker uses,
    // here a's own ports, before its real addresses
    const ownPorts = a.getMultiaddrs().map((x) => multiaddr(`${x.decapsulateCode(CODE_P2P).toString()}/p2p/${b.peerId.toString()}`))
    await a.libp2p.peerStore.merge(b.peerId, { multiaddrs: [...ownPorts, ...b.getMultiaddrs()] })
    const dialled: string[] = []
    const connection = await a.libp2p.dial(b.peerId, {
      onProgress: (evt) => {
        if (evt.type === 'dial-queue:calculated-addresses')
          dialled.push(...(evt.detail as Array<{ multiaddr: { toString(): string } }>).map((x) => x.multiaddr.toString()))
      },
    })
    expect(connection.remotePeer.equals(b.peerId)).toBe(true)
    expect(dialled.length).toBeGreaterThan(0)
    expect(dialled.filter((x) => ownPorts.some((own) => own.toString() === x))).toEqual([])
  })

  it('never dials an address inside exclude_cidrs', async () => {
    const a = await net().start({ transports: 'tcp', toml: { network: { exclude_cidrs: ['127.0.0.0/8'] } } })
    const b = await net().start({ transports: 'tcp' })
    await expect(a.dial(multiaddr(addressOf(b, 'tcp')))).rejects.toThrow()
    expect(a.libp2p.getConnections()).toHaveLength(0)
  })
})
