// Ten real libp2p nodes on loopback running gossipsub with Hypha's options: every message reaches
// every other subscriber exactly once, and a schema-breaking message is rejected at the first hop.
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { z } from 'zod'
import { gossipsubOptions } from '../../src/messaging/pubsub/options.js'
import { TypedPubSub, type MessageInvalidDetail } from '../../src/messaging/pubsub/index.js'
import { loopbackNode } from './loopback-node.js'

const TOPIC = 'hypha/test/tasks'
const MAX_MESSAGE_BYTES = 4096
const NODES = 10
const MESSAGES = 20

const Task = z.object({ id: z.string(), origin: z.number().int(), payload: z.string() })
type Task = z.infer<typeof Task>

// Mesh and score state live on the GossipSub class, which the package does not export; its
// public interface lacks these two methods, so the test names the part of the class it reads.
type GossipSubProbe = GossipSub & { getMeshPeers(topic: string): string[], getScore(peerId: string): number }

interface TestNode {
  index: number
  libp2p: Libp2p<{ pubsub: GossipSub }>
  router: GossipSubProbe
  pubsub: TypedPubSub
  received: Array<{ message: Task, from: PeerId }>
  invalid: MessageInvalidDetail[]
  heartbeats: number
}

async function createNode(index: number): Promise<TestNode> {
  const libp2p = await loopbackNode(
    {
      identify: identify(),
      pubsub: gossipsub(gossipsubOptions({ maxMessageBytes: MAX_MESSAGE_BYTES, scoredTopics: [TOPIC] })),
    },
    { connectionManager: { inboundConnectionThreshold: 10_000 } },
  )
  const router = libp2p.services.pubsub as GossipSubProbe
  const node: TestNode = {
    index,
    libp2p,
    router,
    pubsub: new TypedPubSub(router, { maxMessageBytes: MAX_MESSAGE_BYTES, logger: libp2p.logger }),
    received: [],
    invalid: [],
    heartbeats: 0,
  }
  node.pubsub.addEventListener('message:invalid', (event) => { node.invalid.push(event.detail) })
  router.addEventListener('gossipsub:heartbeat', () => { node.heartbeats++ })
  return node
}

/** Polls `condition` until it holds; the failure names what was awaited. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Waits until every node has run `count` more heartbeats: gossip (IHAVE/IWANT) has had its turns. */
async function settle(nodes: TestNode[], count = 2): Promise<void> {
  const target = nodes.map((n) => n.heartbeats + count)
  await waitFor(`${count} heartbeats on every node`, () => nodes.every((n, i) => n.heartbeats >= (target[i] ?? 0)))
}

describe('TypedPubSub over gossipsub, 10 nodes on loopback', () => {
  let nodes: TestNode[] = []

  beforeAll(async () => {
    nodes = await Promise.all(Array.from({ length: NODES }, async (_, i) => createNode(i)))
  })

  afterAll(async () => {
    for (const node of nodes) node.pubsub.stop()
    await Promise.all(nodes.map(async (node) => node.libp2p.stop()))
  })

  it('uses StrictSign, and publishes to zero peers without throwing', async () => {
    for (const node of nodes) expect(node.router.globalSignaturePolicy).toBe('StrictSign')
    // Before any connection exists: a scheduler publishing ahead of its workers must not fail.
    const lonely = nodes[0]?.pubsub.topic('hypha/test/lonely', Task)
    await expect(lonely?.publish({ id: 'early', origin: 0, payload: '' })).resolves.toEqual({ recipients: 0 })
  })

  it('delivers every message to every other subscriber exactly once', async () => {
    // A ring plus chords to the node three ahead: degree 4, diameter 2-3, no single hub.
    const edges = new Set<string>()
    for (let i = 0; i < NODES; i++) {
      for (const step of [1, 3]) {
        const j = (i + step) % NODES
        edges.add(`${Math.min(i, j)}-${Math.max(i, j)}`)
      }
    }
    await Promise.all([...edges].map(async (edge) => {
      const [a, b] = edge.split('-').map(Number) as [number, number]
      await nodes[a]?.libp2p.dial(nodes[b]?.libp2p.getMultiaddrs() ?? [])
    }))

    const topics = nodes.map((node) => node.pubsub.topic(TOPIC, Task))
    nodes.forEach((node, i) => {
      topics[i]?.subscribe((message, from) => { node.received.push({ message, from }) })
    })

    // The mesh is formed when every node knows all its neighbours subscribed and has grafted them.
    await waitFor('a full mesh on every node', () => nodes.every((node) => {
      const neighbours = node.libp2p.getPeers().length
      return neighbours >= 2 &&
        node.router.getSubscribers(TOPIC).length === neighbours &&
        node.router.getMeshPeers(TOPIC).length === Math.min(neighbours, 4)
    }))

    const published: Task[] = []
    for (let k = 0; k < MESSAGES; k++) {
      const origin = k % NODES
      const message: Task = { id: `m${k}`, origin, payload: `task ${k} from node ${origin}` }
      const { recipients } = await topics[origin]!.publish(message)
      expect(recipients).toBeGreaterThan(0)
      published.push(message)
    }

    // Gossipsub does not deliver a node's own message back to it (emitSelf is off): each message
    // reaches the other NODES - 1 subscribers.
    const expected = MESSAGES * (NODES - 1)
    const total = (): number => nodes.reduce((sum, node) => sum + node.received.length, 0)
    await waitFor(`${expected} deliveries`, () => total() >= expected)
    await settle(nodes)
    expect(total()).toBe(expected)

    for (const node of nodes) {
      const ids = node.received.map((r) => r.message.id).sort()
      const want = published.filter((m) => m.origin !== node.index).map((m) => m.id).sort()
      expect(ids).toEqual(want)
      for (const { message, from } of node.received) {
        // The handler's `from` is the signed author, not the neighbour that relayed it.
        expect(from.equals(nodes[message.origin]?.libp2p.peerId)).toBe(true)
        expect(message).toEqual(published.find((m) => m.id === message.id))
      }
      expect(node.invalid).toEqual([])
    }
  })

  it('rejects a schema-breaking message at the first hop and lowers the sender\'s score', async () => {
    const sender = nodes[0]!
    const senderId = sender.libp2p.peerId.toString()
    const neighbourIds = new Set(sender.libp2p.getPeers().map(String))
    const neighbours = nodes.filter((node) => neighbourIds.has(node.libp2p.peerId.toString()))
    const others = nodes.filter((node) => node !== sender && !neighbourIds.has(node.libp2p.peerId.toString()))
    expect(neighbours.length).toBeGreaterThanOrEqual(2)
    expect(others.length).toBeGreaterThanOrEqual(1)

    const receivedBefore = nodes.map((node) => node.received.length)
    const scoreBefore = neighbours.map((node) => node.router.getScore(senderId))

    // Straight through gossipsub, bypassing TypedPubSub's outbound checks: a well-formed envelope
    // whose body breaks the schema (origin must be an integer).
    const bad = new TextEncoder().encode(JSON.stringify({ v: 1, body: { id: 'evil', origin: 'zero', payload: 'x' } }))
    const { recipients } = await sender.router.publish(TOPIC, bad)
    expect(recipients.length).toBe(neighbours.length)

    await waitFor('every neighbour to reject the message', () => neighbours.every((node) => node.invalid.length >= 1))
    for (const node of neighbours) {
      expect(node.invalid).toHaveLength(1)
      expect(node.invalid[0]).toMatchObject({ topic: TOPIC, reason: 'schema' })
      expect(node.invalid[0]?.from.toString()).toBe(senderId)
    }

    // The validator's verdict reaches the score, which gossipsub caches for one heartbeat.
    await waitFor('the sender\'s score to drop on every neighbour', () =>
      neighbours.every((node, i) => node.router.getScore(senderId) <= (scoreBefore[i] ?? 0) - 10))
    for (const node of neighbours) expect(node.router.getScore(senderId)).toBeLessThan(0)

    await settle(nodes)
    // Rejected messages are not forwarded: nodes two hops away never see it, and no handler ran.
    for (const node of others) expect(node.invalid).toEqual([])
    expect(nodes.map((node) => node.received.length)).toEqual(receivedBefore)
  })
})
