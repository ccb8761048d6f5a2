// libp2p's random walk (patches/libp2p@3.3.11.patch): AutoNAT walks to find peers that verify
// its addresses. Where the DHT has nobody to ask, each walk iteration ended in microtasks only
// and the loop starved the event loop: the NAT lab's gateway spun at 100% CPU for AutoNAT's
// 10 s, answered no ping, and every peer's connections to it timed out. A walk that finds nobody
// must leave the event loop free and back off.
import type { PeerInfo, PeerRouting } from '@libp2p/interface'
import type { HyphaNode } from '../src/node/hypha-node.js'
import { useTestNetwork } from '../src/testing/test-network.js'

const net = useTestNetwork(26)

interface RandomWalkComponent {
  walk(options?: { signal?: AbortSignal }): AsyncGenerator<PeerInfo>
}

function randomWalkOf(node: HyphaNode): RandomWalkComponent {
  return (node.libp2p as unknown as { components: { randomWalk: RandomWalkComponent } }).components.randomWalk
}

it('a walk over a routing table with nobody to ask leaves the event loop free and backs off', async () => {
  const node = await net().start({ role: 'gateway', transports: 'tcp' })
  // what a kad-dht query does with no peer to ask: it ends at once, without I/O
  let iterations = 0
  const peerRouting = node.libp2p.peerRouting as PeerRouting
  peerRouting.getClosestPeers = async function* () {
    iterations++
    // where the walk does not pause (the unpatched loop), reach the event loop now and then, so
    // that this test ends and fails instead of hanging
    if (iterations % 10_000 === 0) await new Promise((resolve) => setTimeout(resolve, 0))
  }
  let ticks = 0
  const ticker = setInterval(() => ticks++, 10)
  try {
    const found: PeerInfo[] = []
    await (async () => {
      for await (const peer of randomWalkOf(node).walk({ signal: AbortSignal.timeout(1_500) })) found.push(peer)
    })().catch((err: Error) => {
      if (err.name !== 'TimeoutError' && err.name !== 'AbortError') throw err
    })
    expect(found).toEqual([])
  } finally {
    clearInterval(ticker)
  }
  // a free event loop ticks ~150 times in 1.5 s (a starved one not once); the back-off (1 s,
  // then 2 s) allows two iterations where the unpatched loop ran hundreds of thousands
  expect(ticks).toBeGreaterThan(50)
  expect(iterations).toBeLessThanOrEqual(3)
  expect(iterations).toBeGreaterThanOrEqual(1)
})
