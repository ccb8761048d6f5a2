// The parent side of lib/swarm-host.mjs: a swarm of `count` nodes spread round-robin over
// `hosts` processes, one throw-away CA for all of them. `call(host, command, payload)` sends
// one command to one host; `each(command, payload)` to all of them at once.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { forkChild, makePki, round, stopChild } from './common.mjs'

const HOST = join(fileURLToPath(new URL('.', import.meta.url)), 'swarm-host.mjs')

let nextSeq = 0
/** Pending questions by sequence number: one 'message' listener per child, however many are in flight. */
const pending = new WeakMap()

/** Sends a command and resolves with the answer carrying its sequence number (rejects on the host's error). */
export function ask(child, type, payload = {}) {
  let waiting = pending.get(child)
  if (waiting === undefined) {
    waiting = new Map()
    pending.set(child, waiting)
    child.on('message', (message) => {
      const entry = waiting.get(message?.seq)
      if (entry === undefined) return
      waiting.delete(message.seq)
      if (message.type === 'error') entry.reject(new Error(message.message))
      else entry.resolve(message)
    })
  }
  const seq = ++nextSeq
  return new Promise((resolve, reject) => {
    waiting.set(seq, { resolve, reject })
    child.send({ type, seq, ...payload })
  })
}

export async function startDistributedSwarm({ count, hosts, role = 'worker', config = {}, pubsubTopics, seeds = 0 }) {
  const names = Array.from({ length: count }, (_, i) => `node-${i}`)
  const { pki } = await makePki(names)
  const hostOf = (i) => i % hosts
  const children = []
  const addresses = new Array(count)
  const peerIds = new Array(count)
  const startGroup = async (indices, groupConfig) => {
    const byHost = Array.from({ length: hosts }, () => [])
    for (const i of indices) byHost[hostOf(i)].push({ index: i, files: pki.nodes[names[i]] })
    await Promise.all(
      byHost.map(async (members, h) => {
        if (members.length === 0) return
        if (children[h] === undefined) {
          const { child, info } = await forkChild(HOST, { members, role, config: groupConfig, pubsubTopics }, process.execArgv, 300_000)
          children[h] = child
          Object.assign(addresses, info.addresses)
          Object.assign(peerIds, info.peerIds)
        } else {
          const info = await ask(children[h], 'init', { members, role, config: groupConfig, pubsubTopics })
          Object.assign(addresses, info.addresses)
          Object.assign(peerIds, info.peerIds)
        }
      }),
    )
  }
  // seeds first (others may bootstrap from them), then everyone else
  const all = names.map((_, i) => i)
  if (seeds > 0) {
    await startGroup(all.slice(0, seeds), config)
    const bootstrap = all.slice(0, seeds).flatMap((i) => addresses[i])
    await startGroup(all.slice(seeds), { ...config, bootstrap })
  } else {
    await startGroup(all, config)
  }
  return {
    count,
    hostOf,
    addresses,
    peerIds,
    children,
    call: (host, type, payload) => ask(children[host], type, payload),
    each: (type, payload) => Promise.all(children.map((child) => ask(child, type, payload))),
    /** The hosts' RSS together, per node of the swarm (MiB, one decimal). */
    async rssMiBPerNode() {
      const stats = await Promise.all(children.map((child) => ask(child, 'stats')))
      return round(stats.reduce((sum, s) => sum + s.rss, 0) / 1048576 / count, 1)
    },
    async stop() {
      await Promise.all(
        children.map(async (child) => {
          await ask(child, 'exit').catch(() => undefined)
          await stopChild(child)
        }),
      )
    },
  }
}
