// Read access on the delivery path. Asking the authorizers for every message a `#` subscriber
// receives would put an ACL lookup on the fan-out hot path, so each subscriber remembers the
// answer per topic until the rules change (the chain's generation). The question depends on the
// client and the topic only, never on which of its filters matched, so one memo per subscriber
// serves all its subscriptions.
import type { ClientInfo } from '../types'

/** Answers a subscriber remembers; past this the memo starts over, so a `#` subscriber's stays bounded. */
const MAX_REMEMBERED_TOPICS = 1024

/** What a subscriber keeps for the gate. */
export interface DeliveryMemo {
  /** The client read access is asked for; undefined for in-process subscribers (always allowed). */
  readonly client: ClientInfo | undefined
  /** The rules generation `deliveryAnswers` were given under. */
  deliveryGeneration: number
  /** authorizeDelivery's answer per topic. */
  deliveryAnswers: Map<string, boolean> | undefined
}

/** What the gate needs of the chain. */
interface DeliveryRules {
  readonly generation: number
  authorizeDelivery (client: ClientInfo, topic: string): boolean
}

export class DeliveryGate {
  constructor (private readonly rules: DeliveryRules) {}

  /**
   * May this subscriber receive a message on this topic? In-process subscribers (no client)
   * always may: they are the embedding program itself.
   */
  allows (subscriber: DeliveryMemo, topic: string): boolean {
    const client = subscriber.client
    if (client === undefined) return true
    const generation = this.rules.generation
    let answers = subscriber.deliveryAnswers
    if (answers === undefined || subscriber.deliveryGeneration !== generation) {
      answers = new Map()
      subscriber.deliveryAnswers = answers
      subscriber.deliveryGeneration = generation
    }
    let allowed = answers.get(topic)
    if (allowed === undefined) {
      if (answers.size >= MAX_REMEMBERED_TOPICS) answers.clear()
      allowed = this.rules.authorizeDelivery(client, topic)
      answers.set(topic, allowed)
    }
    return allowed
  }
}
