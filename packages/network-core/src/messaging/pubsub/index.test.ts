// Tests of TypedPubSub against a fake gossipsub router: validator verdicts and events, handler
// isolation (throwing, never-settling, backlogged handlers), subscribe bookkeeping and stop().
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { GossipSubEvents, Message, PublishResult, TopicValidatorFn } from '@libp2p/gossipsub'
import { StrictNoSign, StrictSign, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId, PublicKey } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { z } from 'zod'
import { type PubSubEvents, type PubSubRouter, TypedPubSub } from './index.js'

const Task = z.object({ id: z.string(), n: z.number().int() })
type Task = z.infer<typeof Task>

class FakeRouter extends TypedEventEmitter<GossipSubEvents> implements PubSubRouter {
  globalSignaturePolicy: typeof StrictSign | typeof StrictNoSign = StrictSign
  readonly topicValidators = new Map<string, TopicValidatorFn>()
  readonly subscribeCalls: string[] = []
  readonly unsubscribeCalls: string[] = []
  readonly published: Array<{ topic: string; data: Uint8Array }> = []
  recipients: PeerId[] = []

  subscribe(topic: string): void {
    this.subscribeCalls.push(topic)
  }
  unsubscribe(topic: string): void {
    this.unsubscribeCalls.push(topic)
  }
  async publish(topic: string, data?: Uint8Array): Promise<PublishResult> {
    this.published.push({ topic, data: data ?? new Uint8Array() })
    return { recipients: this.recipients }
  }

  /** What gossipsub does with an inbound message: validate, then deliver if accepted. */
  async receive(message: Message, from: PeerId): Promise<TopicValidatorResult> {
    const verdict = await (this.topicValidators.get(message.topic)?.(from, message) ?? TopicValidatorResult.Accept)
    if (verdict === TopicValidatorResult.Accept) this.dispatchEvent(new CustomEvent('message', { detail: message }))
    return verdict
  }
}

let author: PeerId
let authorKey: PublicKey
let relay: PeerId
beforeAll(async () => {
  const key = await generateKeyPair('Ed25519')
  author = peerIdFromPrivateKey(key)
  authorKey = key.publicKey
  relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
})

let seq = 0n
function signed(topic: string, payload: unknown): Message {
  const data = payload instanceof Uint8Array ? payload : new TextEncoder().encode(JSON.stringify(payload))
  return { type: 'signed', from: author, topic, data, sequenceNumber: ++seq, signature: new Uint8Array(64), key: authorKey }
}
const flush = async (): Promise<void> => {
  await new Promise((resolve) => setImmediate(resolve))
}

function record<K extends keyof PubSubEvents>(pubsub: TypedPubSub, type: K): Array<PubSubEvents[K]['detail']> {
  const seen: Array<PubSubEvents[K]['detail']> = []
  pubsub.addEventListener(type, (event) => {
    seen.push((event as PubSubEvents[K]).detail)
  })
  return seen
}

describe('TypedPubSub', () => {
  let router: FakeRouter
  let pubsub: TypedPubSub
  beforeEach(() => {
    router = new FakeRouter()
    pubsub = new TypedPubSub(router, { maxMessageBytes: 256 })
  })
  afterEach(() => {
    pubsub.stop()
  })

  it('refuses a router that does not sign messages, and bad limits', () => {
    const unsigned = new FakeRouter()
    unsigned.globalSignaturePolicy = StrictNoSign
    expect(() => new TypedPubSub(unsigned, { maxMessageBytes: 256 })).toThrow(expect.objectContaining({ name: 'PubSubConfigError' }))
    expect(() => new TypedPubSub(new FakeRouter(), { maxMessageBytes: 0 })).toThrow(expect.objectContaining({ name: 'PubSubConfigError' }))
    expect(() => new TypedPubSub(new FakeRouter(), { maxMessageBytes: 1, maxPendingPerHandler: 0 })).toThrow(
      expect.objectContaining({ name: 'PubSubConfigError' }),
    )
  })

  it('installs a validator on declaration and returns the same topic for the same schema', () => {
    const topic = pubsub.topic('tasks', Task)
    expect(router.topicValidators.has('tasks')).toBe(true)
    expect(pubsub.topic('tasks', Task)).toBe(topic)
    expect(() => pubsub.topic('tasks', z.object({ other: z.string() }))).toThrow(
      expect.objectContaining({ name: 'PubSubTopicConflictError' }),
    )
    router.topicValidators.set('foreign', () => TopicValidatorResult.Accept)
    expect(() => pubsub.topic('foreign', Task)).toThrow(expect.objectContaining({ name: 'PubSubTopicConflictError' }))
  })

  it('accepts valid messages, rejects invalid ones and ignores later envelope versions, counting each', async () => {
    pubsub.topic('tasks', Task).subscribe(() => {})
    const invalid = record(pubsub, 'message:invalid')
    const received = record(pubsub, 'message:received')

    expect(await router.receive(signed('tasks', { v: 1, body: { id: 'a', n: 1 } }), relay)).toBe(TopicValidatorResult.Accept)
    expect(await router.receive(signed('tasks', { v: 1, body: { id: 'a', n: 'one' } }), relay)).toBe(TopicValidatorResult.Reject)
    expect(await router.receive(signed('tasks', new Uint8Array([0xff])), relay)).toBe(TopicValidatorResult.Reject)
    expect(await router.receive(signed('tasks', { v: 1, body: { id: 'x'.repeat(300), n: 1 } }), relay)).toBe(TopicValidatorResult.Reject)
    expect(await router.receive(signed('tasks', { v: 2, body: {} }), relay)).toBe(TopicValidatorResult.Ignore)
    expect(await router.receive({ type: 'unsigned', topic: 'tasks', data: new Uint8Array() }, relay)).toBe(TopicValidatorResult.Reject)

    expect(invalid.map((e) => e.reason)).toEqual(['schema', 'invalid-utf8', 'too-large', 'unsupported-version', 'unsigned'])
    expect(invalid[0]?.from.equals(relay)).toBe(true)
    expect(invalid[0]?.author?.equals(author)).toBe(true)
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({ topic: 'tasks' })
    expect(received[0]?.from.equals(author)).toBe(true)
  })

  it('delivers the parsed value and the author to every handler', async () => {
    const topic = pubsub.topic('tasks', Task)
    const a: Array<[Task, string]> = []
    const b: Task[] = []
    topic.subscribe((message, from) => {
      a.push([message, from.toString()])
    })
    topic.subscribe((message) => {
      b.push(message)
    })
    await router.receive(signed('tasks', { v: 1, body: { id: 'a', n: 1, extra: true } }), relay)
    await flush()
    expect(a).toEqual([[{ id: 'a', n: 1 }, author.toString()]])
    expect(b).toEqual([{ id: 'a', n: 1 }])
  })

  it('keeps delivering when one handler throws, rejects or never settles', async () => {
    const topic = pubsub.topic('tasks', Task)
    const errors = record(pubsub, 'handler:error')
    const got: number[] = []
    topic.subscribe(() => {
      throw new Error('sync boom')
    })
    topic.subscribe(async () => {
      throw new Error('async boom')
    })
    topic.subscribe(async () => {
      await new Promise(() => {})
    })
    topic.subscribe((message) => {
      got.push(message.n)
    })
    for (let n = 0; n < 5; n++) await router.receive(signed('tasks', { v: 1, body: { id: 'a', n } }), relay)
    await flush()
    expect(got).toEqual([0, 1, 2, 3, 4])
    expect(errors).toHaveLength(10)
    expect(errors.map((e) => (e.error as Error).message).sort()).toEqual([...Array(5).fill('async boom'), ...Array(5).fill('sync boom')])
  })

  it('drops, with an event, deliveries to a handler that has too many in flight', async () => {
    pubsub.stop()
    pubsub = new TypedPubSub(router, { maxMessageBytes: 256, maxPendingPerHandler: 2 })
    const dropped = record(pubsub, 'message:dropped')
    const topic = pubsub.topic('tasks', Task)
    const release: Array<() => void> = []
    let calls = 0
    topic.subscribe(async () => {
      calls++
      await new Promise<void>((resolve) => release.push(resolve))
    })
    const fast: number[] = []
    topic.subscribe((message) => {
      fast.push(message.n)
    })
    for (let n = 0; n < 4; n++) await router.receive(signed('tasks', { v: 1, body: { id: 'a', n } }), relay)
    await flush()
    expect(calls).toBe(2)
    expect(fast).toEqual([0, 1, 2, 3])
    expect(dropped).toHaveLength(2)
    expect(dropped[0]).toMatchObject({ topic: 'tasks', reason: 'handler-backlog' })
    // Once the slow handler catches up it gets messages again.
    release.forEach((r) => {
      r()
    })
    await flush()
    await router.receive(signed('tasks', { v: 1, body: { id: 'a', n: 4 } }), relay)
    await flush()
    expect(calls).toBe(3)
  })

  it('joins on the first handler and leaves after the last, unsubscribe being idempotent', () => {
    const topic = pubsub.topic('tasks', Task)
    const off1 = topic.subscribe(() => {})
    const off2 = topic.subscribe(() => {})
    expect(router.subscribeCalls).toEqual(['tasks'])
    off1()
    off1()
    expect(router.unsubscribeCalls).toEqual([])
    off2()
    expect(router.unsubscribeCalls).toEqual(['tasks'])
    topic.subscribe(() => {})
    expect(router.subscribeCalls).toEqual(['tasks', 'tasks'])
  })

  it('publishes a validated envelope and reports the recipients', async () => {
    const published = record(pubsub, 'message:published')
    router.recipients = [relay, author]
    const topic = pubsub.topic('tasks', Task)
    await expect(topic.publish({ id: 'a', n: 1 })).resolves.toEqual({ recipients: 2 })
    expect(router.published).toHaveLength(1)
    expect(JSON.parse(new TextDecoder().decode(router.published[0]?.data))).toEqual({ v: 1, body: { id: 'a', n: 1 } })
    expect(published).toEqual([{ topic: 'tasks', recipients: 2 }])
  })

  it('throws before publishing an invalid, oversized or aborted message', async () => {
    const topic = pubsub.topic('tasks', Task)
    await expect(topic.publish({ id: 'a', n: 1.5 })).rejects.toMatchObject({ name: 'PubSubInvalidMessageError' })
    await expect(topic.publish({ id: 'x'.repeat(300), n: 1 })).rejects.toMatchObject({ name: 'PubSubMessageTooLargeError' })
    await expect(topic.publish({ id: 'a', n: 1 }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(router.published).toHaveLength(0)
  })

  it('stop() leaves topics, removes its validators and refuses further use', async () => {
    const topic = pubsub.topic('tasks', Task)
    const off = topic.subscribe(() => {})
    let delivered = 0
    topic.subscribe(() => {
      delivered++
    })
    pubsub.stop()
    expect(router.topicValidators.has('tasks')).toBe(false)
    expect(router.unsubscribeCalls).toEqual(['tasks'])
    off()
    expect(router.unsubscribeCalls).toEqual(['tasks'])
    router.dispatchEvent(new CustomEvent('message', { detail: signed('tasks', { v: 1, body: { id: 'a', n: 1 } }) }))
    await flush()
    expect(delivered).toBe(0)
    await expect(topic.publish({ id: 'a', n: 1 })).rejects.toMatchObject({ name: 'PubSubStoppedError' })
    expect(() => pubsub.topic('other', Task)).toThrow(expect.objectContaining({ name: 'PubSubStoppedError' }))
  })

  it('checks messages that bypassed its validator before handing them to handlers', async () => {
    const topic = pubsub.topic('tasks', Task)
    const invalid = record(pubsub, 'message:invalid')
    const got: Task[] = []
    topic.subscribe((m) => {
      got.push(m)
    })
    router.dispatchEvent(new CustomEvent('message', { detail: signed('tasks', { v: 1, body: { id: 1 } }) }))
    router.dispatchEvent(new CustomEvent('message', { detail: signed('tasks', { v: 1, body: { id: 'b', n: 2 } }) }))
    await flush()
    expect(got).toEqual([{ id: 'b', n: 2 }])
    expect(invalid.map((e) => e.reason)).toEqual(['schema'])
  })
})
