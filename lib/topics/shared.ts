// Shared subscriptions: `$share/<group>/<filter>` (MQTT 5.0, 4.8.2; honoured for 3.1.1 clients
// too, as Mosquitto and most brokers do).
import { topicFilterProblem } from './validate'

export interface SharedFilter {
  group: string
  filter: string
}

const PREFIX = '$share/'

/**
 * Splits a shared subscription into group and filter. Returns undefined for an ordinary filter,
 * and a string describing the fault for a malformed one.
 */
export function parseSharedFilter (filter: string): SharedFilter | string | undefined {
  if (!filter.startsWith(PREFIX)) return undefined
  const slash = filter.indexOf('/', PREFIX.length)
  // [MQTT-4.8.2-1] a ShareName is at least one character and holds no '/', '+' or '#'
  if (slash === -1) return 'shared subscription has no topic filter'
  const group = filter.slice(PREFIX.length, slash)
  if (group.length === 0) return 'shared subscription has an empty share name'
  if (group.includes('+') || group.includes('#')) return 'share name contains a wildcard'
  const rest = filter.slice(slash + 1)
  // [MQTT-4.8.2-2] the filter after the share name must be present
  if (rest.length === 0) return 'shared subscription has an empty topic filter'
  return { group, filter: rest }
}

/** A subscription filter split into what the trie matches and its share name (none for an ordinary filter). */
export interface SubscriptionFilter {
  /** The filter's levels, without any `$share/<group>/` prefix. */
  filter: string
  group: string | undefined
}

/**
 * Checks a filter as a subscription takes it: the share part, then the filter after it. Returns
 * the filter split, or a string describing the fault.
 */
export function parseSubscriptionFilter (filter: string, maxLevels = 0): SubscriptionFilter | string {
  const shared = parseSharedFilter(filter)
  if (typeof shared === 'string') return shared
  const levels = shared === undefined ? filter : shared.filter
  const problem = topicFilterProblem(levels, maxLevels)
  if (problem !== undefined) return problem
  return { filter: levels, group: shared?.group }
}
