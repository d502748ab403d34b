// The subscription trie: one node per topic level, so the cost of matching a topic grows with its
// depth and the number of matches, not with the number of subscriptions.
import type { QoS, SubscriptionOptions } from '../types'

/** Anything that can hold subscriptions: a client session or an in-process subscriber. */
export interface Subscriber {
  /** Client id, or a generated key for in-process subscribers. */
  readonly key: string
  /** Router scratch: the routing pass that last reached this subscriber, to deliver once. */
  matchGeneration: number
  /** Router scratch: the highest QoS among this subscriber's matching subscriptions. */
  matchQos: QoS
  /** Router scratch: a matching subscription has Retain As Published and the message is retained. */
  matchRetain: boolean
  /** Router scratch: Subscription Identifiers of the matching subscriptions (MQTT 5.0, 3.3.4). */
  matchIds: number[] | undefined
  /** What a message's origin is compared with for No Local. */
  readonly originKey: string
}

export interface Subscription {
  subscriber: Subscriber
  /** The filter as the client sent it, `$share/<group>/` included. */
  filter: string
  qos: QoS
  /** Share name for `$share/<group>/<filter>`. */
  group?: string
  /** MQTT 5 subscription options; absent for MQTT 3.1.1 subscriptions. */
  options?: SubscriptionOptions
}

/** The members of one shared subscription group on one filter; one of them gets each message. */
export class SharedGroup {
  readonly members: Subscription[] = []
  /** Round-robin position. */
  next = 0
}

class TrieNode {
  children: Map<string, TrieNode> | undefined
  subscriptions: Map<Subscriber, Subscription> | undefined
  shared: Map<string, SharedGroup> | undefined

  isEmpty (): boolean {
    return (this.children === undefined || this.children.size === 0) &&
      (this.subscriptions === undefined || this.subscriptions.size === 0) &&
      (this.shared === undefined || this.shared.size === 0)
  }
}

export type SubscriptionVisitor = (subscription: Subscription) => void
export type SharedGroupVisitor = (group: SharedGroup) => void

export class SubscriptionTrie {
  private readonly root = new TrieNode()
  private subscriptionCount = 0
  private sharedCount = 0

  /** Ordinary subscriptions held. */
  get size (): number { return this.subscriptionCount }
  /** Shared subscription memberships held. */
  get sharedSize (): number { return this.sharedCount }

  /**
   * Adds or replaces a subscription. `levelsFilter` is the filter without any `$share/<group>/`
   * prefix. Returns true when it replaced an existing one [MQTT-3.8.4-3].
   */
  add (levelsFilter: string, subscription: Subscription): boolean {
    let node = this.root
    for (const level of levelsFilter.split('/')) {
      node.children ??= new Map()
      let child = node.children.get(level)
      if (child === undefined) {
        child = new TrieNode()
        node.children.set(level, child)
      }
      node = child
    }
    if (subscription.group !== undefined) {
      node.shared ??= new Map()
      let group = node.shared.get(subscription.group)
      if (group === undefined) {
        group = new SharedGroup()
        node.shared.set(subscription.group, group)
      }
      const index = group.members.findIndex((member) => member.subscriber === subscription.subscriber)
      if (index !== -1) {
        group.members[index] = subscription
        return true
      }
      group.members.push(subscription)
      this.sharedCount++
      return false
    }
    node.subscriptions ??= new Map()
    const replaced = node.subscriptions.has(subscription.subscriber)
    node.subscriptions.set(subscription.subscriber, subscription)
    if (!replaced) this.subscriptionCount++
    return replaced
  }

  /** Removes a subscriber's subscription to a filter; returns whether there was one. */
  remove (levelsFilter: string, subscriber: Subscriber, group?: string): boolean {
    const path: TrieNode[] = [this.root]
    const levels = levelsFilter.split('/')
    let node: TrieNode | undefined = this.root
    for (const level of levels) {
      node = node.children?.get(level)
      if (node === undefined) return false
      path.push(node)
    }
    let removed = false
    if (group !== undefined) {
      const shared = node.shared?.get(group)
      if (shared !== undefined) {
        const index = shared.members.findIndex((member) => member.subscriber === subscriber)
        if (index !== -1) {
          shared.members.splice(index, 1)
          if (shared.next > index) shared.next--
          this.sharedCount--
          removed = true
          if (shared.members.length === 0) node.shared?.delete(group)
        }
      }
    } else if (node.subscriptions?.delete(subscriber) === true) {
      this.subscriptionCount--
      removed = true
    }
    // Prune nodes left empty, from the leaf up, so the trie does not grow without bound.
    for (let i = levels.length; i > 0; i--) {
      const child = path[i]
      const parent = path[i - 1]
      if (child === undefined || parent === undefined || !child.isEmpty()) break
      parent.children?.delete(levels[i - 1] as string)
    }
    return removed
  }

  /** The shared group `group` on exactly `levelsFilter` (no wildcard matching), while it has members. */
  sharedGroup (levelsFilter: string, group: string): SharedGroup | undefined {
    let node: TrieNode | undefined = this.root
    for (const level of levelsFilter.split('/')) {
      node = node.children?.get(level)
      if (node === undefined) return undefined
    }
    return node.shared?.get(group)
  }

  /**
   * Calls `visit` for every ordinary subscription matching `topic`, and `visitGroup` for every
   * shared group with a matching filter (the caller picks the member).
   */
  match (topic: string, visit: SubscriptionVisitor, visitGroup: SharedGroupVisitor): void {
    // [MQTT-4.7.2-1] wildcards at the first level do not match topics beginning with '$'
    this.matchFrom(this.root, topic, 0, topic.charCodeAt(0) === 0x24, visit, visitGroup)
  }

  /** Matches the levels of `topic` from character `start`; -1 once every level is consumed. */
  private matchFrom (node: TrieNode, topic: string, start: number, dollar: boolean,
    visit: SubscriptionVisitor, visitGroup: SharedGroupVisitor): void {
    const children = node.children
    if (start === -1) {
      visitNode(node, visit, visitGroup)
      // [MQTT-4.7.1-2] 'sport/#' also matches 'sport'
      const hash = children?.get('#')
      if (hash !== undefined) visitNode(hash, visit, visitGroup)
      return
    }
    if (children === undefined) return
    const slash = topic.indexOf('/', start)
    const next = slash === -1 ? -1 : slash + 1
    const exact = children.get(slash === -1 ? (start === 0 ? topic : topic.slice(start)) : topic.slice(start, slash))
    if (exact !== undefined) this.matchFrom(exact, topic, next, dollar, visit, visitGroup)
    if (dollar && start === 0) return
    const plus = children.get('+')
    if (plus !== undefined) this.matchFrom(plus, topic, next, dollar, visit, visitGroup)
    const hash = children.get('#')
    if (hash !== undefined) visitNode(hash, visit, visitGroup)
  }
}

function visitNode (node: TrieNode, visit: SubscriptionVisitor, visitGroup: SharedGroupVisitor): void {
  // forEach rather than an iterator: no iterator object per visited node.
  if (node.subscriptions !== undefined) node.subscriptions.forEach(visit)
  if (node.shared !== undefined) node.shared.forEach(visitGroup)
}
