// Errors thrown by the typed pub/sub layer, one small class per failure callers branch on.
// Inbound problems are never thrown: they become a Reject plus a 'message:invalid' event.
import { ProtocolError } from '../protocol-error.js'

/** The outbound message does not satisfy the topic's schema, or does not survive the JSON round trip. */
export class PubSubInvalidMessageError extends ProtocolError {
  override readonly name = 'PubSubInvalidMessageError'
  /** The topic (also `protocol`, the base class's name for it). */
  readonly topic: string

  constructor(topic: string, message: string, options?: ErrorOptions) {
    super(topic, `invalid message for topic "${topic}": ${message}`, options)
    this.topic = topic
  }
}

/** The encoded envelope is larger than `maxMessageBytes`; receivers would reject it. */
export class PubSubMessageTooLargeError extends ProtocolError {
  override readonly name = 'PubSubMessageTooLargeError'
  /** The topic (also `protocol`, the base class's name for it). */
  readonly topic: string
  readonly size: number
  readonly limit: number

  constructor(topic: string, size: number, limit: number) {
    super(topic, `message for topic "${topic}" is ${size} bytes, more than the ${limit} byte limit`)
    this.topic = topic
    this.size = size
    this.limit = limit
  }
}

/** A topic was declared twice with different schemas, or already has a foreign validator. */
export class PubSubTopicConflictError extends ProtocolError {
  override readonly name = 'PubSubTopicConflictError'
  /** The topic (also `protocol`, the base class's name for it). */
  readonly topic: string

  constructor(topic: string, message: string) {
    super(topic, `topic "${topic}": ${message}`)
    this.topic = topic
  }
}

/** The gossipsub router or its options would weaken the guarantees this layer documents. */
export class PubSubConfigError extends ProtocolError {
  override readonly name = 'PubSubConfigError'

  constructor(message: string) {
    super(undefined, message)
  }
}

/** The TypedPubSub instance was stopped; its topics can no longer publish or subscribe. */
export class PubSubStoppedError extends ProtocolError {
  override readonly name = 'PubSubStoppedError'

  constructor() {
    super(undefined, 'the typed pub/sub layer is stopped')
  }
}
