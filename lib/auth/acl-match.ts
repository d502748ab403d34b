// Decides what an acl_file allows one client, as Mosquitto 2.0's mosquitto_acl_check_default does:
//   1. The client's block: its `user` block, or the anonymous block when it has no username.
//      A deny rule matching the topic refuses; else a rule granting the access allows.
//   2. Else the patterns, with %c and %u replaced by the client's id and username: a client whose
//      username or id holds '+' or '#' gets nothing from them (it could widen its own filters);
//      a pattern using %u is skipped for a client without a username. Deny refuses, a grant
//      allows.
//   3. Else refused: an ACL file allows only what it lists.
// Topics are matched as MQTT filters match them: '#' matches the parent level too, and a filter
// starting with a wildcard never matches a topic starting with '$' [MQTT-4.7.2-1].
//
// Where Mosquitto versions differ, the stricter reading wins. A %c or %u standing for an empty
// value or one holding '/' could reach another client's levels (a client picks its own id):
// such a pattern grants nothing (Mosquitto 2.1 matches a substituted value within one level),
// but it still denies, with the value put in as text (Mosquitto 2.0).
//
// 'read' is asked for each delivery, 'write' for each PUBLISH and will. 'subscribe' has no
// counterpart in Mosquitto's acl_file, which grants every SUBSCRIBE and then filters each
// delivery: here a filter is allowed when at least one topic it matches is readable, so a
// refused filter is exactly one through which Mosquitto would deliver nothing. A subscription to
// '#' with a `read a/#` rule is allowed, and its deliveries are then checked one by one.
import { type AclFilter, type AclLevel, type AclRules, type AclRuleSet, type AclTemplate, compileAclFilter } from './acl-file'
import { filterCanMatchOutside } from './acl-subscribe'
import { parseSharedFilter } from '../topics/shared'

export type AclAccess = 'read' | 'write' | 'subscribe'

/** Who asks: the client id, and the username when the client gave one. */
export interface AclClient {
  clientId: string
  username?: string
}

const DOLLAR = 0x24

/** Is the value usable as one whole level of a filter? */
function isOneLevel (value: string): boolean {
  return value !== '' && !value.includes('/')
}

function hasWildcard (value: string | undefined): boolean {
  return value !== undefined && (value.includes('+') || value.includes('#'))
}

function templateMatches (template: AclTemplate, topic: string, start: number, stop: number, client: AclClient): boolean {
  let position = start
  for (let i = 0; i < template.length; i++) {
    const text = i % 2 === 0 ? template[i] as string : template[i] === 'c' ? client.clientId : client.username ?? ''
    if (position + text.length > stop || !topic.startsWith(text, position)) return false
    position += text.length
  }
  return position === stop
}

/** Does a compiled filter match a topic name? Walks the topic in place: no allocation. */
function levelsMatch (levels: readonly AclLevel[], topic: string, client: AclClient): boolean {
  const end = topic.length
  let start = 0
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as AclLevel
    // '#' matches the parent level and everything below it [MQTT-4.7.1-2]
    if (level === '#') return i > 0 || topic.charCodeAt(0) !== DOLLAR
    if (start > end) return false
    let stop = topic.indexOf('/', start)
    if (stop === -1) stop = end
    if (level === '+') {
      if (i === 0 && topic.charCodeAt(0) === DOLLAR) return false
    } else if (typeof level === 'string') {
      if (stop - start !== level.length || !topic.startsWith(level, start)) return false
    } else if (!templateMatches(level, topic, start, stop, client)) {
      return false
    }
    start = stop + 1
  }
  return start > end
}

/** The filter as Mosquitto 2.0 substitutes it, for values that are not one level. */
function substitutedText (filter: AclFilter, client: AclClient): string {
  return filter.text.replace(/%([cu])/g, (_, letter: string) => letter === 'c' ? client.clientId : client.username ?? '')
}

/** Whether a pattern applies to this client, and if so whether its levels can be used as they are. */
function patternUse (filter: AclFilter, client: AclClient, deny: boolean): 'skip' | 'levels' | 'text' {
  if (filter.usesUsername && client.username === undefined) return 'skip'
  const oneLevel = (!filter.usesClientId || isOneLevel(client.clientId)) && (!filter.usesUsername || isOneLevel(client.username as string))
  if (oneLevel) return 'levels'
  return deny ? 'text' : 'skip'
}

function anyTopicRule (filters: readonly AclFilter[], topic: string, client: AclClient): boolean {
  for (let i = 0; i < filters.length; i++) {
    if (levelsMatch((filters[i] as AclFilter).levels, topic, client)) return true
  }
  return false
}

function anyPattern (filters: readonly AclFilter[], topic: string, client: AclClient, deny: boolean): boolean {
  for (let i = 0; i < filters.length; i++) {
    const filter = filters[i] as AclFilter
    const use = patternUse(filter, client, deny)
    if (use === 'skip') continue
    const levels = use === 'levels' ? filter.levels : compileAclFilter(substitutedText(filter, client), false).levels
    if (levelsMatch(levels, topic, client)) return true
  }
  return false
}

function blockOf (rules: AclRules, client: AclClient): AclRuleSet | undefined {
  return client.username === undefined ? rules.anonymous : rules.users.get(client.username)
}

function patternsFor (rules: AclRules, client: AclClient): AclRuleSet | undefined {
  // Mosquitto refuses pattern access outright to a username or client id with a wildcard.
  if (hasWildcard(client.username) || hasWildcard(client.clientId)) return undefined
  return rules.patterns
}

function topicAllowed (rules: AclRules, client: AclClient, topic: string, access: 'read' | 'write'): boolean {
  const block = blockOf(rules, client)
  if (block !== undefined) {
    if (anyTopicRule(block.deny, topic, client)) return false
    if (anyTopicRule(access === 'read' ? block.read : block.write, topic, client)) return true
  }
  const patterns = patternsFor(rules, client)
  if (patterns === undefined || anyPattern(patterns.deny, topic, client, true)) return false
  return anyPattern(access === 'read' ? patterns.read : patterns.write, topic, client, false)
}

/** Patterns as plain filters for this client: grants that apply, and denies as Mosquitto 2.0 has them. */
function substitutedPatterns (filters: readonly AclFilter[], client: AclClient, deny: boolean): AclFilter[] {
  const plain: AclFilter[] = []
  for (const filter of filters) {
    if (patternUse(filter, client, deny) !== 'skip') plain.push(compileAclFilter(substitutedText(filter, client), false))
  }
  return plain
}

function subscribeAllowed (rules: AclRules, client: AclClient, filter: string): boolean {
  const shared = parseSharedFilter(filter)
  if (typeof shared === 'string') return false
  // The share name is not part of what is read: the rules apply to the filter after it.
  const wanted = compileAclFilter(shared === undefined ? filter : shared.filter, false)
  const block = blockOf(rules, client)
  const userDenies = block?.deny ?? []
  for (const grant of block?.read ?? []) {
    if (filterCanMatchOutside(wanted.levels, grant.levels, userDenies)) return true
  }
  const patterns = patternsFor(rules, client)
  if (patterns === undefined) return false
  const denies = [...userDenies, ...substitutedPatterns(patterns.deny, client, true)]
  for (const grant of substitutedPatterns(patterns.read, client, false)) {
    if (filterCanMatchOutside(wanted.levels, grant.levels, denies)) return true
  }
  return false
}

/**
 * May this client read (have delivered) or write (publish, or leave as a will) this topic name,
 * or subscribe to this filter ('$share/<group>/' and all)? Topic names must be valid.
 */
export function aclAllows (rules: AclRules, client: AclClient, topicOrFilter: string, access: AclAccess): boolean {
  if (access === 'subscribe') return subscribeAllowed(rules, client, topicOrFilter)
  return topicAllowed(rules, client, topicOrFilter, access)
}
