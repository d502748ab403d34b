// Routes a message to every subscriber whose subscriptions match its topic: each subscriber
// once, at the highest QoS among its matching subscriptions [MQTT-3.3.5-1], capped at the QoS
// the message was published with; one member of each matching shared group.
import type { Message, QoS } from './types'
import type { SharedGroup, Subscriber, Subscription } from './topics/trie'
import { SubscriptionTrie } from './topics/trie'

/** A subscriber the router can hand messages to. */
export interface Deliverable extends Subscriber {
  readonly online: boolean
  deliver (message: Message, qos: QoS, retain: boolean): void
}

interface ScratchFrame {
  /** Entries 0..count-1 are this pass's; the arrays are reused, never shrunk (no length writes). */
  subscribers: Array<Deliverable | undefined>
  /** Granted QoS per entry; -1 for an ordinary match, whose QoS accumulates on the subscriber. */
  qos: number[]
  count: number
}

export class Router {
  readonly trie = new SubscriptionTrie()
  private generation = 0
  /** Per nesting depth: an in-process handler may publish while its own delivery runs. */
  private readonly frames: ScratchFrame[] = []
  private depth = 0
  private current: ScratchFrame | undefined
  // Bound once: the trie's visitors, with no closure allocated per message.
  private readonly visit = (subscription: Subscription): void => {
    const subscriber = subscription.subscriber as Deliverable
    if (subscriber.matchGeneration !== this.generation) {
      subscriber.matchGeneration = this.generation
      subscriber.matchQos = subscription.qos
      const frame = this.current as ScratchFrame
      frame.subscribers[frame.count] = subscriber
      frame.qos[frame.count++] = -1
    } else if (subscription.qos > subscriber.matchQos) {
      subscriber.matchQos = subscription.qos
    }
  }

  private readonly visitGroup = (group: SharedGroup): void => {
    const member = pickSharedMember(group)
    if (member === undefined) return
    // Shared deliveries stand apart from the client's own subscriptions (MQTT 5.0, 4.8.2):
    // they carry their own QoS, outside the once-per-subscriber rule.
    const frame = this.current as ScratchFrame
    frame.subscribers[frame.count] = member.subscriber as Deliverable
    frame.qos[frame.count++] = member.qos
  }

  /** Delivers a message; returns how many deliveries were made. */
  route (message: Message): number {
    const frame = this.frames[this.depth] ?? (this.frames[this.depth] = { subscribers: [], qos: [], count: 0 })
    this.depth++
    try {
      this.generation = (this.generation + 1) | 0
      this.current = frame
      this.trie.match(message.topic, this.visit, this.visitGroup)
      const { subscribers, qos } = frame
      const count = frame.count
      // Matching is finished before any delivery: a handler that publishes re-enters route()
      // one frame deeper and cannot disturb this one.
      for (let i = 0; i < count; i++) {
        const subscriber = subscribers[i] as Deliverable
        const slot = qos[i] as number
        if (slot === -1) qos[i] = subscriber.matchQos
      }
      const published = message.qos
      for (let i = 0; i < count; i++) {
        const granted = qos[i] as QoS
        ;(subscribers[i] as Deliverable).deliver(message, granted < published ? granted : published, false)
      }
      return count
    } finally {
      // Drop the references so a closed session is not kept alive by the scratch arrays.
      const subscribers = frame.subscribers
      for (let i = 0; i < frame.count; i++) subscribers[i] = undefined
      frame.count = 0
      this.depth--
    }
  }
}

/** Round robin over the group, preferring members that are online (MQTT 5.0, 4.8.2). */
function pickSharedMember (group: SharedGroup): Subscription | undefined {
  const members = group.members
  const size = members.length
  if (size === 0) return undefined
  for (let i = 0; i < size; i++) {
    const index = (group.next + i) % size
    const member = members[index] as Subscription
    if ((member.subscriber as Deliverable).online) {
      group.next = (index + 1) % size
      return member
    }
  }
  const member = members[group.next % size]
  group.next = (group.next + 1) % size
  return member
}
