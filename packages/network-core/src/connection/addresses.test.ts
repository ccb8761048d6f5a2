import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { isCircuitAddress, peerIdOfAddress, peerIdOfTarget, transportOfAddress } from './addresses.js'

const ID = '12D3KooWNTY9sn8eQA8BXBnY1AhV86GwETaJmfBAGPmVGZus3tma'

describe('addresses', () => {
  it('names the transport, relayed first', () => {
    expect(transportOfAddress(multiaddr('/ip4/10.0.0.1/udp/4001/quic-v1'))).toBe('quic')
    expect(transportOfAddress(multiaddr('/ip4/10.0.0.1/tcp/4001'))).toBe('tcp')
    expect(transportOfAddress(multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}/p2p-circuit`))).toBe('relay')
    expect(transportOfAddress(multiaddr('/ip4/10.0.0.1/udp/4001'))).toBe('other')
    expect(isCircuitAddress(multiaddr(`/ip4/10.0.0.1/udp/4001/quic-v1/p2p/${ID}/p2p-circuit`))).toBe(true)
    expect(isCircuitAddress(multiaddr('/ip4/10.0.0.1/tcp/4001'))).toBe(false)
  })

  it('reads the peer id an address ends with', () => {
    expect(peerIdOfAddress(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}`)).toBe(ID)
    expect(peerIdOfAddress(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}/p2p-circuit/p2p/${ID.slice(0, -1)}x`)).toBe(`${ID.slice(0, -1)}x`)
    expect(peerIdOfAddress('/ip4/10.0.0.1/tcp/4001')).toBeUndefined()
    expect(peerIdOfAddress(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}/p2p-circuit`)).toBeUndefined()
  })

  it('names the peer of a dial target: a PeerId, or the id its address ends with', () => {
    const peer = peerIdFromString(ID)
    expect(peerIdOfTarget(peer)).toBe(peer)
    expect(peerIdOfTarget(multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}`))?.equals(peer)).toBe(true)
    expect(peerIdOfTarget(multiaddr(`/ip4/10.0.0.2/tcp/1/p2p/12D3KooWSx1vcazGdxUNbuHC97MnfYbcN5jjkJpSKxT6LNRLHrV5/p2p-circuit/p2p/${ID}`))?.equals(peer)).toBe(true)
    expect(peerIdOfTarget(multiaddr('/ip4/10.0.0.1/tcp/4001'))).toBeUndefined()
    // the relay's id is not the target's
    expect(peerIdOfTarget(multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}/p2p-circuit`))).toBeUndefined()
  })
})
