// Whether a subscription can ever deliver anything: is there a topic name that the subscribed
// filter matches, that a granting rule matches, and that no deny rule matches?
//
// Levels are free text, so where both filters take any value ('+' or '#') the best choice is a
// value no rule names: a "fresh" level, matched only by wildcards. Any other value could only
// bring more deny rules into play. So for each topic length it is enough to try one topic: the
// literal levels the filters fix, fresh levels elsewhere. Lengths beyond the longest filter
// behave alike (only '#' reaches them), so the lengths to try are bounded.
import type { AclFilter, AclLevel } from './acl-file'

/** A sample topic: literal levels, and null for a fresh level no rule names. */
type Sample = Array<string | null>

const ANY = null

function endsWithHash (levels: readonly AclLevel[]): boolean {
  return levels[levels.length - 1] === '#'
}

/** Does the filter match topics of `count` levels? '#' matches its parent level too. */
function takesLength (levels: readonly AclLevel[], count: number): boolean {
  return endsWithHash(levels) ? count >= levels.length - 1 : count === levels.length
}

function isWildcard (level: AclLevel | undefined): boolean {
  return level === '+' || level === '#'
}

/** The literal a filter fixes at a level, or ANY; filters here have no templates left. */
function fixedAt (levels: readonly AclLevel[], index: number): string | null {
  const level = levels[index]
  return typeof level === 'string' && !isWildcard(level) ? level : ANY
}

/** A topic of `count` levels that both filters match, as general as possible; undefined if none. */
function sampleBoth (one: readonly AclLevel[], other: readonly AclLevel[], count: number): Sample | undefined {
  if (!takesLength(one, count) || !takesLength(other, count)) return undefined
  const sample: Sample = []
  for (let i = 0; i < count; i++) {
    const a = fixedAt(one, i)
    const b = fixedAt(other, i)
    if (a !== ANY && b !== ANY && a !== b) return undefined
    sample.push(a ?? b)
  }
  const first = sample[0]
  // [MQTT-4.7.3-1] a topic name is at least one character: '/#' matches '/' but no '' above it
  if (count === 1 && first === '') return undefined
  // [MQTT-4.7.2-1] a wildcard first level does not match a topic starting with '$'
  if (first?.startsWith('$') === true && (isWildcard(one[0]) || isWildcard(other[0]))) return undefined
  return sample
}

function matchesSample (levels: readonly AclLevel[], sample: Sample): boolean {
  const first = sample[0]
  if (isWildcard(levels[0]) && first?.startsWith('$') === true) return false
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]
    if (level === '#') return true
    if (i >= sample.length) return false
    if (level === '+') continue
    if (sample[i] !== level) return false
  }
  return levels.length === sample.length
}

/**
 * Is there a topic name matched by `wanted` and by `grant` and by none of `denies`? All filters
 * are plain (patterns already substituted).
 */
export function filterCanMatchOutside (wanted: readonly AclLevel[], grant: readonly AclLevel[], denies: readonly AclFilter[]): boolean {
  let longest = Math.max(wanted.length, grant.length)
  for (const deny of denies) longest = Math.max(longest, deny.levels.length)
  for (let count = 1; count <= longest + 1; count++) {
    const sample = sampleBoth(wanted, grant, count)
    if (sample !== undefined && !denies.some((deny) => matchesSample(deny.levels, sample))) return true
  }
  return false
}
