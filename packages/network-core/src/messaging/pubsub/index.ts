// Typed pub/sub on gossipsub: one zod schema per topic, checked on publish and by a topic validator on
// every inbound message before it is forwarded. Needs a started node; JSON bodies; sync CPU hogs still block.

import type { GossipSub, Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { StrictSign, TopicValidatorResult } from '@libp2p/gossipsub'
import type { AbortOptions, ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import type { z } from 'zod'
import { decodeEnvelope, encodeEnvelope, type InvalidMessageReason } from './codec.js'
import { PubSubConfigError, PubSubStoppedError, PubSubTopicConflictError } from './errors.js'

/**
 * The part of the gossipsub service this layer uses, so tests can hand in a fake. The real
 * service (`libp2p.services.pubsub` built with `gossipsub(gossipsubOptions(...))`) fits it.
 */
export type PubSubRouter = Pick<
  GossipSub,
  'globalSignaturePolicy' | 'topicValidators' | 'subscribe' | 'unsubscribe' | 'publish' | 'addEventListener' | 'removeEventListener'
>

export interface TypedPubSubInit {
  /** Largest encoded envelope published or accepted; use the value given to gossipsubOptions(). */
  maxMessageBytes: number
  logger?: ComponentLogger
  /**
   * Deliveries a handler may have in flight before further messages to it are dropped (with a
   * 'message:dropped' event and a warning). Bounds the memory a stuck async handler can pin.
   * Default 1000.
   */
  maxPendingPerHandler?: number
}

export interface MessageInvalidDetail {
  topic: string
  /** The peer that sent it to us, which gossipsub penalises (not necessarily the author). */
  from: PeerId
  /** The signed author, when the message carried one. */
  author?: PeerId
  reason: InvalidMessageReason
}

export interface PubSubEvents {
  /** A valid message arrived for a subscribed topic; `from` is its (signed) author. */
  'message:received': CustomEvent<{ topic: string; from: PeerId }>
  /**
   * An inbound message failed validation. It was rejected (not forwarded, sender penalised),
   * except for `unsupported-version`, which is ignored (not forwarded, not penalised).
   */
  'message:invalid': CustomEvent<MessageInvalidDetail>
  /** A message left this node; `recipients` counts the peers gossipsub sent it to directly. */
  'message:published': CustomEvent<{ topic: string; recipients: number }>
  /** A handler threw or its promise rejected; other handlers are unaffected. */
  'handler:error': CustomEvent<{ topic: string; from: PeerId; error: unknown }>
  /** A handler had `maxPendingPerHandler` deliveries in flight, so this one was not made. */
  'message:dropped': CustomEvent<{ topic: string; from: PeerId; reason: 'handler-backlog' }>
}

export type MessageHandler<T> = (message: T, from: PeerId) => void | Promise<void>

export interface TypedTopic<T> {
  readonly name: string
  /**
   * Validates, encodes and publishes. Throws PubSubInvalidMessageError or
   * PubSubMessageTooLargeError before anything is sent. `recipients` is the number of peers
   * gossipsub handed the message to directly (mesh, fanout or flood), not the number of
   * subscribers it will eventually reach; 0 is not an error (no one has joined yet).
   */
  publish(message: T, options?: AbortOptions): Promise<{ recipients: number }>
  /**
   * Adds a handler and joins the topic on the first one. Handlers get every valid message
   * from other peers (gossipsub does not deliver a node's own messages back to it). Several
   * handlers receive the same object: treat it as read-only. Returns an idempotent unsubscribe.
   */
  subscribe(handler: MessageHandler<T>): () => void
}

interface Subscription<T> {
  handler: MessageHandler<T>
  pending: number
}

interface TopicState<T> {
  readonly name: string
  readonly schema: z.ZodType<T>
  readonly api: TypedTopic<T>
  readonly validator: TopicValidatorFn
  readonly subscriptions: Set<Subscription<T>>
}

const DEFAULT_MAX_PENDING_PER_HANDLER = 1000

export class TypedPubSub extends TypedEventEmitter<PubSubEvents> {
  readonly #router: PubSubRouter
  readonly #maxMessageBytes: number
  readonly #maxPending: number
  readonly #log: Logger
  // TopicState<any> is not expressible without `any`; each state is only read through its own topic.
  readonly #topics = new Map<string, TopicState<unknown>>()
  // The validator has already parsed each message it accepted; gossipsub hands the same Message
  // object to the 'message' event, so the delivery path reuses the value instead of parsing twice.
  readonly #validated = new WeakMap<Message, unknown>()
  #stopped = false

  constructor(gossipsub: PubSubRouter, init: TypedPubSubInit) {
    super()
    if (gossipsub.globalSignaturePolicy !== StrictSign) {
      // Unsigned messages have no author to attribute, audit or score; refuse rather than degrade.
      throw new PubSubConfigError(
        `gossipsub must run with globalSignaturePolicy '${StrictSign}', it runs with '${gossipsub.globalSignaturePolicy}'`,
      )
    }
    if (!Number.isSafeInteger(init.maxMessageBytes) || init.maxMessageBytes <= 0) {
      throw new PubSubConfigError(`maxMessageBytes must be a positive integer, got ${init.maxMessageBytes}`)
    }
    const maxPending = init.maxPendingPerHandler ?? DEFAULT_MAX_PENDING_PER_HANDLER
    if (!Number.isSafeInteger(maxPending) || maxPending <= 0) {
      throw new PubSubConfigError(`maxPendingPerHandler must be a positive integer, got ${maxPending}`)
    }
    this.#router = gossipsub
    this.#maxMessageBytes = init.maxMessageBytes
    this.#maxPending = maxPending
    this.#log = (init.logger ?? defaultLogger()).forComponent('hypha:messaging:pubsub')
    this.#router.addEventListener('message', this.#onMessage)
  }

  /**
   * Declares a topic. Installs its validator at once, so messages this node relays are checked
   * even before anyone subscribes. Declaring the same name again returns the same topic if the
   * schema object is the same, and throws PubSubTopicConflictError otherwise.
   */
  topic<T>(name: string, schema: z.ZodType<T>): TypedTopic<T> {
    this.#assertRunning()
    const existing = this.#topics.get(name)
    if (existing !== undefined) {
      if (existing.schema !== schema) throw new PubSubTopicConflictError(name, 'already declared with another schema')
      return existing.api as TypedTopic<T>
    }
    if (this.#router.topicValidators.has(name)) {
      // Two validators cannot share a topic in gossipsub; silently replacing one would drop its checks.
      throw new PubSubTopicConflictError(name, 'gossipsub already has a validator for it')
    }
    const state: TopicState<T> = {
      name,
      schema,
      subscriptions: new Set(),
      validator: (from, message) => this.#validate(state, from, message),
      api: {
        name,
        publish: async (message, options) => this.#publish(state, message, options),
        subscribe: (handler) => this.#subscribe(state, handler),
      },
    }
    this.#router.topicValidators.set(name, state.validator)
    this.#topics.set(name, state as TopicState<unknown>)
    return state.api
  }

  /**
   * Leaves every topic, removes the validators and stops delivering. Call it before the libp2p
   * node stops; handlers already running are not awaited.
   */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#router.removeEventListener('message', this.#onMessage)
    for (const state of this.#topics.values()) {
      if (this.#router.topicValidators.get(state.name) === state.validator) this.#router.topicValidators.delete(state.name)
      if (state.subscriptions.size > 0) this.#leave(state.name)
      state.subscriptions.clear()
    }
    this.#topics.clear()
  }

  #validate<T>(state: TopicState<T>, from: PeerId, message: Message): TopicValidatorResult {
    // Gossipsub itself rejects unsigned messages under StrictSign; this only guards a misconfigured router.
    if (message.type !== 'signed') return this.#invalid(state.name, from, undefined, 'unsigned', 'message is not signed')
    const decoded = decodeEnvelope(message.data, state.schema, this.#maxMessageBytes)
    if (!decoded.ok) return this.#invalid(state.name, from, message.from, decoded.reason, decoded.detail)
    this.#validated.set(message, decoded.value)
    return TopicValidatorResult.Accept
  }

  #invalid(topic: string, from: PeerId, author: PeerId | undefined, reason: InvalidMessageReason, detail: string): TopicValidatorResult {
    this.#log('invalid message on %s from %p (author %s): %s - %s', topic, from, author?.toString() ?? 'unknown', reason, detail)
    this.safeDispatchEvent('message:invalid', { detail: { topic, from, ...(author !== undefined ? { author } : {}), reason } })
    // A newer envelope comes from an upgraded peer, not a faulty one: do not forward what we
    // cannot check, but do not penalise it either.
    return reason === 'unsupported-version' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
  }

  async #publish<T>(state: TopicState<T>, message: T, options?: AbortOptions): Promise<{ recipients: number }> {
    this.#assertRunning()
    options?.signal?.throwIfAborted()
    const data = encodeEnvelope(state.name, message, state.schema, this.#maxMessageBytes)
    const result = await this.#router.publish(state.name, data)
    const recipients = result.recipients.length
    this.safeDispatchEvent('message:published', { detail: { topic: state.name, recipients } })
    return { recipients }
  }

  #subscribe<T>(state: TopicState<T>, handler: MessageHandler<T>): () => void {
    this.#assertRunning()
    const subscription: Subscription<T> = { handler, pending: 0 }
    state.subscriptions.add(subscription)
    if (state.subscriptions.size === 1) this.#router.subscribe(state.name)
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      // After stop() the state is already cleared and the router unsubscribed.
      if (!state.subscriptions.delete(subscription)) return
      if (state.subscriptions.size === 0 && !this.#stopped) this.#leave(state.name)
    }
  }

  #leave(topic: string): void {
    try {
      this.#router.unsubscribe(topic)
    } catch (err) {
      // A stopped router throws; leaving is then moot, but say so rather than hide it.
      this.#log.error('could not unsubscribe from %s - %e', topic, err)
    }
  }

  readonly #onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail
    const state = this.#topics.get(message.topic)
    if (state === undefined || state.subscriptions.size === 0) return
    if (message.type !== 'signed') {
      this.#log.error('unsigned message delivered on %s despite StrictSign; dropped', message.topic)
      return
    }
    let value: unknown
    if (this.#validated.has(message)) {
      value = this.#validated.get(message)
    } else {
      // Not seen by our validator (another validator replaced it, or the router emits its own
      // messages): check it here so a handler never sees an unchecked value.
      const decoded = decodeEnvelope(message.data, state.schema, this.#maxMessageBytes)
      if (!decoded.ok) {
        this.#invalid(state.name, message.from, message.from, decoded.reason, decoded.detail)
        return
      }
      value = decoded.value
    }
    this.safeDispatchEvent('message:received', { detail: { topic: state.name, from: message.from } })
    for (const subscription of state.subscriptions) this.#deliver(state.name, subscription, value, message.from)
  }

  #deliver<T>(topic: string, subscription: Subscription<T>, value: T, from: PeerId): void {
    if (subscription.pending >= this.#maxPending) {
      this.#log.error('handler on %s has %d deliveries in flight; dropping a message from %p', topic, subscription.pending, from)
      this.safeDispatchEvent('message:dropped', { detail: { topic, from, reason: 'handler-backlog' } })
      return
    }
    subscription.pending++
    // Started in a microtask and never awaited here: a handler that throws synchronously, blocks
    // on I/O or never settles cannot hold up the other handlers or gossipsub's receive loop.
    // `pending` counts deliveries queued or running; a synchronous handler frees its slot at once.
    queueMicrotask(() => {
      let result: void | Promise<void>
      try {
        result = subscription.handler(value, from)
      } catch (error) {
        subscription.pending--
        this.#handlerFailed(topic, from, error)
        return
      }
      if (!isPromiseLike(result)) {
        subscription.pending--
        return
      }
      result.then(
        () => {
          subscription.pending--
        },
        (error: unknown) => {
          subscription.pending--
          this.#handlerFailed(topic, from, error)
        },
      )
    })
  }

  #handlerFailed(topic: string, from: PeerId, error: unknown): void {
    this.#log.error('handler on %s failed for a message from %p - %e', topic, from, error)
    this.safeDispatchEvent('handler:error', { detail: { topic, from, error } })
  }

  #assertRunning(): void {
    if (this.#stopped) throw new PubSubStoppedError()
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}
