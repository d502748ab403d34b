// Adding and removing a subscriber's subscriptions, kept in step in two places: the router's trie
// (to find subscribers by topic) and the subscriber's own map (to list and remove them); and told
// to the store's journal when the subscriber is a session that outlives its connection.
import type { Router } from '../router'
import type { SessionJournal } from '../store/store'
import { parseSharedFilter } from '../topics/shared'
import type { Subscriber, Subscription } from '../topics/trie'
import type { QoS, SubscriptionOptions } from '../types'

export interface SubscriptionOwner extends Subscriber {
  readonly subscriptions: Map<string, Subscription>
  /** Set on a session that outlives its connection; in-process subscribers have none. */
  readonly journal?: SessionJournal | undefined
}

/** Subscribes; `filter` is already validated. Returns true when it replaced one [MQTT-3.8.4-3]. */
export function addSubscription (router: Router, owner: SubscriptionOwner, filter: string, qos: QoS, options?: SubscriptionOptions): boolean {
  const shared = parseSharedFilter(filter)
  const subscription: Subscription = { subscriber: owner, filter, qos }
  if (typeof shared === 'object') subscription.group = shared.group
  if (options !== undefined && hasOptions(options)) subscription.options = options
  router.trie.add(typeof shared === 'object' ? shared.filter : filter, subscription)
  const replaced = owner.subscriptions.has(filter)
  owner.subscriptions.set(filter, subscription)
  if (!replaced) router.interest?.filterAdded(filter)
  owner.journal?.subscriptionSaved(owner.key, subscription)
  return replaced
}

function hasOptions (options: SubscriptionOptions): boolean {
  return options.noLocal === true || options.retainAsPublished === true ||
    (options.retainHandling ?? 0) !== 0 || options.subscriptionIdentifier !== undefined
}

export function removeSubscription (router: Router, owner: SubscriptionOwner, filter: string): boolean {
  const subscription = owner.subscriptions.get(filter)
  if (subscription === undefined) return false
  owner.subscriptions.delete(filter)
  owner.journal?.subscriptionRemoved(owner.key, filter)
  const shared = parseSharedFilter(filter)
  if (typeof shared === 'object') router.trie.remove(shared.filter, owner, shared.group)
  else router.trie.remove(filter, owner)
  router.interest?.filterRemoved(filter)
  return true
}

export function removeAllSubscriptions (router: Router, owner: SubscriptionOwner): void {
  for (const filter of [...owner.subscriptions.keys()]) removeSubscription(router, owner, filter)
}
