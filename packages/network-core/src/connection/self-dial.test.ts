import { multiaddr } from '@multiformats/multiaddr'
import { isOwnLoopbackAddress } from './self-dial.js'

const peer = '12D3KooWNhDK4ENKuS4gQikEtHXuVXqgFfbbasGuQvqnZobHbm4K'
const relay = '12D3KooWPejjkNCbNPTrHfEgQynj7jHgCKn4gfgr34zbygWmZ28U'
// what a worker in a container listens on: its LAN address and loopback, TCP and QUIC on 4001
const own = [
  multiaddr('/ip4/10.1.1.3/tcp/4001'),
  multiaddr('/ip4/127.0.0.1/tcp/4001'),
  multiaddr('/ip4/127.0.0.1/udp/4001/quic-v1'),
  multiaddr(`/ip4/11.0.0.2/tcp/4001/p2p/${relay}/p2p-circuit`),
]
const listening = () => own

it("refuses another peer's loopback address on a port this node listens on (that is this node)", () => {
  expect(isOwnLoopbackAddress(multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peer}`), listening)).toBe(true)
  expect(isOwnLoopbackAddress(multiaddr(`/ip4/127.0.0.1/udp/4001/quic-v1/p2p/${peer}`), listening)).toBe(true)
  expect(isOwnLoopbackAddress(multiaddr(`/ip6/::1/tcp/4001/p2p/${peer}`), listening)).toBe(true)
})

it('keeps loopback addresses on other ports (the local stack), non-loopback ones and relayed ones', () => {
  expect(isOwnLoopbackAddress(multiaddr(`/ip4/127.0.0.1/tcp/4002/p2p/${peer}`), listening)).toBe(false)
  expect(isOwnLoopbackAddress(multiaddr(`/ip4/127.0.0.1/udp/4001/quic-v1/p2p/${peer}`), () => [multiaddr('/ip4/127.0.0.1/tcp/4001')])).toBe(
    false,
  )
  expect(isOwnLoopbackAddress(multiaddr(`/ip4/10.1.1.9/tcp/4001/p2p/${peer}`), listening)).toBe(false)
  expect(isOwnLoopbackAddress(multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${peer}`), listening)).toBe(false)
  // a relay on this host's loopback is not a port of ours because our circuit address names it
  expect(
    isOwnLoopbackAddress(multiaddr(`/ip4/127.0.0.1/tcp/5001/p2p/${peer}`), () => [
      multiaddr(`/ip4/127.0.0.1/tcp/5001/p2p/${relay}/p2p-circuit`),
    ]),
  ).toBe(false)
})
