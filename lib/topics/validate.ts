// Topic name and topic filter rules (MQTT 3.1.1, 4.7; MQTT 5.0, 4.7).

/** The longest UTF-8 string MQTT can carry (MQTT 3.1.1, 1.5.3). */
export const MAX_TOPIC_BYTES = 65535

/** Why a name or filter was refused, or undefined when it is valid. */
export type TopicProblem = string | undefined

function checkCommon (topic: string, maxLevels: number): TopicProblem {
  // [MQTT-4.7.3-1] topic names and filters are at least one character long
  if (topic.length === 0) return 'is empty'
  // [MQTT-4.7.3-2] no U+0000
  if (topic.includes('\u0000')) return 'contains U+0000'
  // [MQTT-4.7.3-3] at most 65,535 bytes of UTF-8
  if (topic.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return 'is longer than 65535 bytes'
  if (maxLevels > 0 && countLevels(topic) > maxLevels) return `has more than ${maxLevels} levels`
  return undefined
}

export function countLevels (topic: string): number {
  let levels = 1
  for (let i = topic.indexOf('/'); i !== -1; i = topic.indexOf('/', i + 1)) levels++
  return levels
}

/** A topic name in PUBLISH: no wildcards [MQTT-3.3.2-2]. */
export function topicNameProblem (topic: string, maxLevels = 0): TopicProblem {
  const problem = checkCommon(topic, maxLevels)
  if (problem !== undefined) return problem
  if (topic.includes('+') || topic.includes('#')) return 'contains a wildcard'
  return undefined
}

/**
 * A topic filter in SUBSCRIBE/UNSUBSCRIBE: '#' only as the whole last level [MQTT-4.7.1-2],
 * '+' only as a whole level [MQTT-4.7.1-3].
 */
export function topicFilterProblem (filter: string, maxLevels = 0): TopicProblem {
  const problem = checkCommon(filter, maxLevels)
  if (problem !== undefined) return problem
  const hash = filter.indexOf('#')
  if (hash !== -1 && (hash !== filter.length - 1 || (hash > 0 && filter.charCodeAt(hash - 1) !== 0x2f))) {
    return "uses '#' other than as the whole last level"
  }
  for (let plus = filter.indexOf('+'); plus !== -1; plus = filter.indexOf('+', plus + 1)) {
    const before = plus === 0 ? 0x2f : filter.charCodeAt(plus - 1)
    const after = plus === filter.length - 1 ? 0x2f : filter.charCodeAt(plus + 1)
    if (before !== 0x2f || after !== 0x2f) return "uses '+' other than as a whole level"
  }
  return undefined
}

/** Is a topic name in the broker's own $SYS tree, which clients and wills may not write to? */
export function isSysTopic (topic: string): boolean {
  return topic === '$SYS' || topic.startsWith('$SYS/')
}

/**
 * May this client not publish (or leave a will) here? $SYS is read-only to clients, but for one
 * topic: a Mosquitto bridge with `notifications true` reports its own link's state, retained, to
 * `$SYS/broker/connection/<its client id>/state` (1 up, 0 down: its will).
 */
export function isSysTopicClosedTo (topic: string, client: { clientId: string, bridge?: boolean }): boolean {
  if (!isSysTopic(topic)) return false
  return client.bridge !== true || topic !== `$SYS/broker/connection/${client.clientId}/state`
}

/** Does a topic name match a filter? Used for retained lookups and by the client engine. */
export function topicMatches (filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'
  if (topic.charCodeAt(0) === 0x24 && (filter.charCodeAt(0) === 0x23 || filter.charCodeAt(0) === 0x2b)) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}
