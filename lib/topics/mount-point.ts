// mount_point (Mosquitto's listener option): the clients of a listener live under a prefix. Their
// topics and filters get it on the way in, deliveries lose it on the way out
// (connection/outgoing-publish.ts), so they cannot reach a topic outside it. The prefix is put
// in front as text, as Mosquitto does: a mount point normally ends with '/'.
import { parseSharedFilter } from './shared'

/** A client's topic (a PUBLISH's, its will's) as the broker routes it. */
export function mountTopic (mountPoint: string | undefined, topic: string): string {
  return mountPoint === undefined ? topic : mountPoint + topic
}

/** A client's filter as the broker keeps it: the prefix goes after `$share/<group>/`. */
export function mountFilter (mountPoint: string | undefined, filter: string): string {
  if (mountPoint === undefined) return filter
  const shared = parseSharedFilter(filter)
  // A malformed shared filter stays as sent, so the subscribe step refuses it as it would anywhere.
  if (typeof shared === 'string') return filter
  if (shared === undefined) return mountPoint + filter
  return `$share/${shared.group}/${mountPoint}${shared.filter}`
}
