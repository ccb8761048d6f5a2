// Errors thrown by the typed pub/sub layer, one small class per failure callers branch on.
// Inbound problems are never thrown: they become a Reject plus a 'message:invalid' event.

/** The outbound message does not satisfy the topic's schema, or does not survive the JSON round trip. */
export class PubSubInvalidMessageError extends Error {
  override readonly name = 'PubSubInvalidMessageError'
  readonly topic: string

  constructor(topic: string, message: string, options?: ErrorOptions) {
    super(`invalid message for topic "${topic}": ${message}`, options)
    this.topic = topic
  }
}

/** The encoded envelope is larger than `maxMessageBytes`; receivers would reject it. */
export class PubSubMessageTooLargeError extends Error {
  override readonly name = 'PubSubMessageTooLargeError'
  readonly topic: string
  readonly size: number
  readonly limit: number

  constructor(topic: string, size: number, limit: number) {
    super(`message for topic "${topic}" is ${size} bytes, more than the ${limit} byte limit`)
    this.topic = topic
    this.size = size
    this.limit = limit
  }
}

/** A topic was declared twice with different schemas, or already has a foreign validator. */
export class PubSubTopicConflictError extends Error {
  override readonly name = 'PubSubTopicConflictError'
  readonly topic: string

  constructor(topic: string, message: string) {
    super(`topic "${topic}": ${message}`)
    this.topic = topic
  }
}

/** The gossipsub router or its options would weaken the guarantees this layer documents. */
export class PubSubConfigError extends Error {
  override readonly name = 'PubSubConfigError'
}

/** The TypedPubSub instance was stopped; its topics can no longer publish or subscribe. */
export class PubSubStoppedError extends Error {
  override readonly name = 'PubSubStoppedError'

  constructor() {
    super('the typed pub/sub layer is stopped')
  }
}
