// Adding and removing a subscriber's subscriptions, kept in step in two places: the router's trie
// (to find subscribers by topic) and the subscriber's own map (to list and remove them).
import type { Router } from '../router'
import { parseSharedFilter } from '../topics/shared'
import type { Subscriber, Subscription } from '../topics/trie'
import type { QoS } from '../types'

export interface SubscriptionOwner extends Subscriber {
  readonly subscriptions: Map<string, Subscription>
}

/** Subscribes; `filter` is already validated. Returns true when it replaced one [MQTT-3.8.4-3]. */
export function addSubscription (router: Router, owner: SubscriptionOwner, filter: string, qos: QoS): boolean {
  const shared = parseSharedFilter(filter)
  const subscription: Subscription = typeof shared === 'object'
    ? { subscriber: owner, filter, qos, group: shared.group }
    : { subscriber: owner, filter, qos }
  router.trie.add(typeof shared === 'object' ? shared.filter : filter, subscription)
  const replaced = owner.subscriptions.has(filter)
  owner.subscriptions.set(filter, subscription)
  return replaced
}

export function removeSubscription (router: Router, owner: SubscriptionOwner, filter: string): boolean {
  const subscription = owner.subscriptions.get(filter)
  if (subscription === undefined) return false
  owner.subscriptions.delete(filter)
  const shared = parseSharedFilter(filter)
  if (typeof shared === 'object') router.trie.remove(shared.filter, owner, shared.group)
  else router.trie.remove(filter, owner)
  return true
}

export function removeAllSubscriptions (router: Router, owner: SubscriptionOwner): void {
  for (const filter of [...owner.subscriptions.keys()]) removeSubscription(router, owner, filter)
}
