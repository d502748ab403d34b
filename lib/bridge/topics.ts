// Topic mapping between this broker and the remote, with Mosquitto's prefix rules
// (mosquitto.conf(5), `topic`): an `out` topic is subscribed here as local-prefix + pattern and
// leaves with the local prefix swapped for the remote one; an `in` topic is subscribed on the
// remote as remote-prefix + pattern and arrives with the remote prefix swapped for the local one.
// A pattern of "" maps the single topic local-prefix to the single topic remote-prefix.
import { topicFilterProblem, topicMatches } from '../topics/validate'
import type { QoS } from '../types'
import type { BridgeDirection, BridgeTopic } from './options'

export interface TopicMapping {
  readonly direction: BridgeDirection
  readonly qos: QoS
  readonly localPrefix: string
  readonly remotePrefix: string
  /** The filter subscribed on this broker (for out and both). */
  readonly localFilter: string
  /** The filter subscribed on the remote (for in and both). */
  readonly remoteFilter: string
  /** Pattern "": exactly one topic each side. */
  readonly single: boolean
}

/** Why a topic line cannot be used, in Mosquitto's terms; undefined when it can. */
export function topicLineProblem (topic: BridgeTopic): string | undefined {
  const localPrefix = topic.localPrefix ?? ''
  const remotePrefix = topic.remotePrefix ?? ''
  for (const [which, prefix] of [['local', localPrefix], ['remote', remotePrefix]] as const) {
    if (prefix.includes('+') || prefix.includes('#')) return `the ${which} prefix '${prefix}' may not contain wildcards`
    if (prefix.includes('\u0000')) return `the ${which} prefix may not contain a null character`
  }
  if (topic.pattern === '') {
    // mosquitto.conf(5): "" as the pattern remaps one topic, and needs both prefixes.
    if (localPrefix === '' || remotePrefix === '') return 'a pattern of "" needs both a local and a remote prefix'
  }
  const local = topic.pattern === '' ? localPrefix : localPrefix + topic.pattern
  const remote = topic.pattern === '' ? remotePrefix : remotePrefix + topic.pattern
  const localProblem = topicFilterProblem(local)
  if (localProblem !== undefined) return `the local topic filter '${local}' ${localProblem}`
  const remoteProblem = topicFilterProblem(remote)
  if (remoteProblem !== undefined) return `the remote topic filter '${remote}' ${remoteProblem}`
  return undefined
}

/** The mapping of one topic line; topicLineProblem() must have passed. */
export function topicMapping (topic: BridgeTopic): TopicMapping {
  const localPrefix = topic.localPrefix ?? ''
  const remotePrefix = topic.remotePrefix ?? ''
  const single = topic.pattern === ''
  return {
    direction: topic.direction ?? 'out',
    qos: topic.qos ?? 0,
    localPrefix,
    remotePrefix,
    localFilter: single ? localPrefix : localPrefix + topic.pattern,
    remoteFilter: single ? remotePrefix : remotePrefix + topic.pattern,
    single
  }
}

/** The remote topic for a message on `localTopic`, by the first out/both mapping that matches; undefined when none does. */
export function toRemoteTopic (mappings: readonly TopicMapping[], localTopic: string): string | undefined {
  return remap(mappings, localTopic, true)
}

/** The local topic for a message on `remoteTopic`, by the first in/both mapping that matches; undefined when none does. */
export function toLocalTopic (mappings: readonly TopicMapping[], remoteTopic: string): string | undefined {
  return remap(mappings, remoteTopic, false)
}

/** One pass over the topic lines in order; `outbound` reads them from the local side. */
function remap (mappings: readonly TopicMapping[], topic: string, outbound: boolean): string | undefined {
  const against = outbound ? 'in' : 'out'
  for (let i = 0; i < mappings.length; i++) {
    const mapping = mappings[i] as TopicMapping
    if (mapping.direction === against || !topicMatches(outbound ? mapping.localFilter : mapping.remoteFilter, topic)) continue
    const to = outbound ? mapping.remotePrefix : mapping.localPrefix
    if (mapping.single) return to
    return to + topic.slice((outbound ? mapping.localPrefix : mapping.remotePrefix).length)
  }
  return undefined
}
