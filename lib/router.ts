// Routes a message to every subscriber whose subscriptions match its topic: each subscriber
// once, at the highest QoS among its matching subscriptions [MQTT-3.3.5-1], capped at the QoS
// the message was published with (unless upgrade_outgoing_qos); one member of each matching
// shared group. MQTT 5 options apply per subscription: No Local, Retain As Published,
// Subscription Identifiers (3.8.3.1). A subscriber without read access to the topic
// (authorizeDelivery) is passed over.
import type { DeliveryGate, DeliveryMemo } from './auth/delivery'
import type { Message, QoS, SubscriptionOptions } from './types'
import type { SharedGroup, Subscriber, Subscription } from './topics/trie'
import { SubscriptionTrie } from './topics/trie'

/** A subscriber the router can hand messages to, with its read-access memo. */
export interface Deliverable extends Subscriber, DeliveryMemo {
  readonly online: boolean
  deliver (message: Message, qos: QoS, retain: boolean, subscriptionIds?: number[]): void
}

interface ScratchFrame {
  /** Entries 0..count-1 are this pass's; the arrays are reused, never shrunk (no length writes). */
  subscribers: Array<Deliverable | undefined>
  /** Granted QoS per entry; -1 for an ordinary match, whose QoS accumulates on the subscriber. */
  qos: number[]
  retain: boolean[]
  ids: Array<number[] | undefined>
  count: number
}

/**
 * The QoS a message goes out at: the lesser of the published and the granted QoS
 * [MQTT-3.3.5-1], or the granted one when `upgrade` (Mosquitto's upgrade_outgoing_qos, which
 * the specification does not provide for).
 */
export function outgoingQos (published: QoS, granted: QoS, upgrade: boolean): QoS {
  return upgrade || granted < published ? granted : published
}

/** Told of every subscription added and removed (the cluster's interest in NATS subjects). */
export interface InterestListener {
  /** `filter` as sent, `$share/<group>/` included. */
  filterAdded (filter: string): void
  filterRemoved (filter: string): void
}

export class Router {
  readonly trie = new SubscriptionTrie()
  /** Set while the broker runs in a cluster. */
  interest: InterestListener | undefined
  /** `upgrade_outgoing_qos`: deliver at the subscription's QoS whatever the message's. */
  upgradeOutgoingQos = false
  /** `bridge_split_horizon`: a message that came over a bridge is not delivered to a client marked as a bridge. */
  bridgeSplitHorizon = false
  private generation = 0
  /** Per nesting depth: an in-process handler may publish while its own delivery runs. */
  private readonly frames: ScratchFrame[] = []
  private depth = 0
  private current: ScratchFrame | undefined
  private message: Message | undefined

  /** `gate`: read access, when some authorizer has read rules; without one, delivery asks nothing. */
  constructor (readonly gate?: DeliveryGate) {}

  // Bound once: the trie's visitors, with no closure allocated per message.
  private readonly visit = (subscription: Subscription): void => {
    const subscriber = subscription.subscriber as Deliverable
    const message = this.message as Message
    const options = subscription.options
    let retainFlag = false
    let id: number | undefined
    if (options !== undefined) {
      // [MQTT-3.8.3-3] No Local: not back to the client that published it
      if (options.noLocal === true && message.origin !== undefined && message.origin.clientId === subscriber.originKey) return
      // Split horizon: over one bridge in, over no other bridge out (a bridge's subscriptions have No Local)
      if (this.bridgeSplitHorizon && options.noLocal === true && message.origin?.kind === 'bridge' && subscriber.client?.bridge === true) return
      // [MQTT-3.3.1-12] Retain As Published keeps the flag as it came in
      retainFlag = options.retainAsPublished === true && message.retain
      id = options.subscriptionIdentifier
    }
    if (this.gate !== undefined && !this.gate.allows(subscriber, message.topic)) return
    if (subscriber.matchGeneration !== this.generation) {
      subscriber.matchGeneration = this.generation
      subscriber.matchQos = subscription.qos
      subscriber.matchRetain = retainFlag
      subscriber.matchIds = id === undefined ? undefined : [id]
      const frame = this.current as ScratchFrame
      const at = frame.count++
      frame.subscribers[at] = subscriber
      frame.qos[at] = -1
      frame.retain[at] = false
      frame.ids[at] = undefined
      return
    }
    if (subscription.qos > subscriber.matchQos) subscriber.matchQos = subscription.qos
    if (retainFlag) subscriber.matchRetain = true
    // [MQTT-3.3.4-4] every matching subscription's identifier goes with the one delivery
    if (id !== undefined) (subscriber.matchIds ??= []).push(id)
  }

  private readonly visitGroup = (group: SharedGroup): void => {
    const message = this.message as Message
    const member = pickSharedMember(group, this.gate, message.topic)
    if (member === undefined) return
    // Shared deliveries stand apart from the client's own subscriptions (MQTT 5.0, 4.8.2):
    // they carry their own QoS, outside the once-per-subscriber rule.
    const frame = this.current as ScratchFrame
    const options = member.options
    const at = frame.count++
    frame.subscribers[at] = member.subscriber as Deliverable
    frame.qos[at] = member.qos
    frame.retain[at] = options?.retainAsPublished === true && message.retain
    frame.ids[at] = options?.subscriptionIdentifier === undefined ? undefined : [options.subscriptionIdentifier]
  }

  /**
   * Delivers a message; returns how many deliveries were made. `sharedHere` false leaves shared
   * groups out: in a cluster, a NATS queue group picks the one member, maybe on another node.
   */
  route (message: Message, sharedHere = true): number {
    const frame = this.frames[this.depth] ?? (this.frames[this.depth] = { subscribers: [], qos: [], retain: [], ids: [], count: 0 })
    this.depth++
    try {
      this.generation = (this.generation + 1) | 0
      this.current = frame
      this.message = message
      this.trie.match(message.topic, this.visit, sharedHere ? this.visitGroup : skipGroup)
      const { subscribers, qos, retain, ids } = frame
      const count = frame.count
      // Matching is finished before any delivery: a handler that publishes re-enters route()
      // one frame deeper and cannot disturb this one.
      for (let i = 0; i < count; i++) {
        if (qos[i] !== -1) continue
        const subscriber = subscribers[i] as Deliverable
        qos[i] = subscriber.matchQos
        retain[i] = subscriber.matchRetain
        ids[i] = subscriber.matchIds
      }
      const published = message.qos
      const upgrade = this.upgradeOutgoingQos
      for (let i = 0; i < count; i++) {
        ;(subscribers[i] as Deliverable).deliver(message, outgoingQos(published, qos[i] as QoS, upgrade), retain[i] as boolean, ids[i])
      }
      return count
    } finally {
      // Drop the references so a closed session is not kept alive by the scratch arrays.
      const { subscribers, ids } = frame
      for (let i = 0; i < frame.count; i++) {
        subscribers[i] = undefined
        ids[i] = undefined
      }
      frame.count = 0
      this.message = undefined
      this.depth--
    }
  }
}

/**
 * Delivers a message to one member of one shared group (MQTT 5.0, 4.8.2): the group
 * `$share/<group>/<levelsFilter>` on this broker, which the cluster's queue group chose. Returns 1,
 * or 0 when the group has no member here any more.
 */
export function routeShared (router: Router, message: Message, levelsFilter: string, group: string): number {
  const shared = router.trie.sharedGroup(levelsFilter, group)
  const member = shared === undefined ? undefined : pickSharedMember(shared, router.gate, message.topic)
  if (member === undefined) return 0
  deliverUnder(router, member.subscriber as Deliverable, message, member.qos, member.options)
  return 1
}

/**
 * Delivers a message to one subscriber under one subscription the caller picked (a shared group's
 * member, a persistent session's own consumer in a cluster): the QoS it grants, Retain As Published
 * [MQTT-3.3.1-12] and its Subscription Identifier [MQTT-3.3.4-3].
 */
export function deliverUnder (router: Router, subscriber: Deliverable, message: Message, qos: QoS, options: SubscriptionOptions | undefined): void {
  const id = options?.subscriptionIdentifier
  subscriber.deliver(message, outgoingQos(message.qos, qos, router.upgradeOutgoingQos), options?.retainAsPublished === true && message.retain, id === undefined ? undefined : [id])
}

function skipGroup (): void {}

/**
 * Round robin over the group, preferring members that are online (MQTT 5.0, 4.8.2); members
 * without read access to the topic are passed over, so another member gets the message.
 */
function pickSharedMember (group: SharedGroup, gate: DeliveryGate | undefined, topic: string): Subscription | undefined {
  const members = group.members
  const size = members.length
  if (size === 0) return undefined
  let offline = -1
  for (let i = 0; i < size; i++) {
    const index = (group.next + i) % size
    const member = members[index] as Subscription
    if (gate !== undefined && !gate.allows(member.subscriber as Deliverable, topic)) continue
    if ((member.subscriber as Deliverable).online) {
      group.next = (index + 1) % size
      return member
    }
    if (offline === -1) offline = index
  }
  if (offline === -1) return undefined
  group.next = (offline + 1) % size
  return members[offline]
}
