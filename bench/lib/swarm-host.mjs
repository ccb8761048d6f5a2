// Child process of the scale benchmarks (gossip-scale, dht-scale): a share of the swarm's nodes,
// each a real Hypha node (own certificate, TCP + mTLS on loopback), so that a swarm of 100-200
// nodes uses every core of the machine instead of one event loop. The parent sends commands
// over IPC and gets one answer per command ({type: <command>, ...}). Times are wall clock
// (performance.timeOrigin + now: the same clock in every process of the machine).
import { z } from 'zod'
import { concurrently, LISTEN, startNode } from './common.mjs'
import { nowMs } from './swarm.mjs'

const Message = z.object({ id: z.number().int(), sentAt: z.number() })
/** index -> { running, topic? } */
const nodes = new Map()
/** [message id, node index, latency ms] */
const deliveries = []

const commands = {
  async init({ members, role, config, pubsubTopics }) {
    await concurrently(members.length, 8, async (i) => {
      const { index, files } = members[i]
      nodes.set(index, { running: await startNode(files, role, LISTEN.tcp, { config, ...(pubsubTopics ? { pubsubTopics } : {}) }) })
    })
    return {
      addresses: Object.fromEntries([...nodes].map(([i, n]) => [i, n.running.node.getMultiaddrs().map((a) => a.toString())])),
      peerIds: Object.fromEntries([...nodes].map(([i, n]) => [i, n.running.node.peerId.toString()])),
    }
  },
  /** Dials each [from, addresses]; a dial that crosses one from the other side may lose: counted, not fatal. */
  async dial({ links }) {
    let failed = 0
    await concurrently(links.length, 16, (i) => {
      const [from, addresses] = links[i]
      return nodes
        .get(from)
        .running.node.dial(addresses.map((a) => multiaddrOf(a)))
        .catch(() => {
          failed++
        })
    })
    return { failed }
  },
  async subscribe({ topic }) {
    for (const [index, entry] of nodes) {
      entry.topic = entry.running.node.pubsub.topic(topic, Message)
      entry.seen = new Set()
      entry.topic.subscribe((message) => {
        if (entry.seen.has(message.id)) return
        entry.seen.add(message.id)
        deliveries.push([message.id, index, nowMs() - message.sentAt])
      })
    }
    return {}
  },
  async mesh({ topic }) {
    return {
      mesh: [...nodes].map(([i, n]) => [
        i,
        n.running.node.libp2p.services.pubsub.getMeshPeers(topic).length,
        n.running.node.libp2p.getPeers().length,
      ]),
    }
  },
  async publish({ index, id }) {
    await nodes.get(index).topic.publish({ id, sentAt: nowMs() })
    return {}
  },
  async stop({ indices }) {
    await Promise.all(
      indices.map(async (i) => {
        const entry = nodes.get(i)
        nodes.delete(i)
        await entry?.running.stop()
      }),
    )
    return {}
  },
  /** The deliveries since the previous call (the parent adds them up). */
  async deliveries() {
    return { deliveries: deliveries.splice(0) }
  },
  async tables() {
    return { sizes: [...nodes.values()].map((n) => n.running.node.dhtRoutingTableSize()) }
  },
  /** One lookup asking the network; ok when it names one of the target's listen addresses. */
  async find({ index, peerId, want, timeoutMs }) {
    const node = nodes.get(index).running.node
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const target = peerIdFromString(peerId)
    const started = nowMs()
    const strip = (a) => a.toString().replace(/\/p2p\/[^/]+$/, '')
    const answer = (multiaddrs) => {
      const ok = multiaddrs.some((a) => want.includes(strip(a)))
      return { ms: nowMs() - started, ok, error: ok ? undefined : 'wrong addresses' }
    }
    if (process.env.BENCH_DEBUG_DHT) {
      // the same lookup through kad-dht's events, printing what a slow one spent its time on
      const events = []
      let found = []
      try {
        for await (const ev of node.libp2p.services.dht.findPeer(target, { useCache: false, signal: AbortSignal.timeout(timeoutMs) })) {
          events.push([Math.round(nowMs() - started), ev.name, ev.error?.name ?? ''])
          if (ev.name === 'FINAL_PEER' && ev.peer.id.equals(target)) {
            found = ev.peer.multiaddrs
            break
          }
        }
      } catch (err) {
        events.push([Math.round(nowMs() - started), 'THROW', err.name])
      }
      const result = answer(found)
      if (result.ms > 200) {
        const counts = {}
        for (const [, name, error] of events)
          counts[error ? `${name}:${error}` : name] = (counts[error ? `${name}:${error}` : name] ?? 0) + 1
        console.error(JSON.stringify({ ms: Math.round(result.ms), counts, tail: events.slice(-6) }))
      }
      return result
    }
    try {
      return answer(
        (await node.libp2p.peerRouting.findPeer(target, { useCache: false, signal: AbortSignal.timeout(timeoutMs) })).multiaddrs,
      )
    } catch (err) {
      return { ms: nowMs() - started, ok: false, error: err.name }
    }
  },
  async stats() {
    const { user, system } = process.cpuUsage()
    return { cpuUs: user + system, rss: process.memoryUsage.rss() }
  },
  async exit() {
    await Promise.all([...nodes.values()].map((n) => n.running.stop().catch(() => undefined)))
    setImmediate(() => process.exit(0))
    return {}
  },
}

let multiaddrOf
process.on('message', async (message) => {
  try {
    multiaddrOf ??= (await import('@multiformats/multiaddr')).multiaddr
    if (message.type === 'init') {
      process.send({ type: 'ready', seq: message.seq, ...(await commands.init(message)) })
      return
    }
    const handler = commands[message.type]
    if (handler === undefined) throw new Error(`unknown command ${message.type}`)
    process.send({ type: message.type, seq: message.seq, ...(await handler(message)) })
  } catch (err) {
    process.send?.({ type: 'error', seq: message.seq, message: err?.stack ?? String(err) })
  }
})
process.on('disconnect', () => process.exit(0))
