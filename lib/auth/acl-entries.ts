// The access-rule table of the options (`acl`, the editor's table) as compiled ACL rules, and
// how two rule sets combine. The table applies as if its rows were appended to acl_file: each
// row is written as the acl_file line it stands for and parsed by the same parser, so a row and
// a line mean exactly the same thing and are refused for the same reasons.
import { ConfigError } from '../errors'
import type { AclEntry } from '../options'
import { type AclRules, type AclRuleSet, parseAclFile } from './acl-file'

/** The acl_file text one row stands for; `source` names the row in errors. */
function entryText (entry: AclEntry, source: string): string {
  const username = entry.username ?? ''
  if (entry.kind === 'pattern') {
    // A pattern applies to every client: a username on one would be silently meaningless.
    if (username !== '') throw new ConfigError(`a pattern applies to every client, so it takes no username (got '${username}')`, source)
    return `pattern ${entry.access} ${entry.filter}`
  }
  const line = `topic ${entry.access} ${entry.filter}`
  return username === '' ? line : `user ${username}\n${line}`
}

/** Parses one row's text; an error names the row alone (`acl[2]`), not a line within it. */
function parseRow (text: string, source: string): AclRules {
  try {
    return parseAclFile(text, source)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    throw new ConfigError(error.message.replace(/^acl\[\d+\]:\d+: /, ''), source)
  }
}

/** Compiles the table; a bad row is a ConfigError naming it (`acl[2]`). */
export function aclEntriesRules (entries: readonly AclEntry[]): AclRules | undefined {
  let rules: AclRules | undefined
  entries.forEach((entry, index) => {
    const source = `acl[${index}]`
    const parsed = parseRow(entryText(entry, source), source)
    rules = rules === undefined ? parsed : mergeAclRules(rules, parsed)
  })
  return rules
}

function mergeSets (a: AclRuleSet | undefined, b: AclRuleSet | undefined): AclRuleSet | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return { deny: [...a.deny, ...b.deny], read: [...a.read, ...b.read], write: [...a.write, ...b.write] }
}

/** Both rule sets at once, `later`'s after `earlier`'s: a user named in both gets the rules of both. */
export function mergeAclRules (earlier: AclRules, later: AclRules): AclRules {
  const users = new Map(earlier.users)
  for (const [name, set] of later.users) users.set(name, mergeSets(users.get(name), set) as AclRuleSet)
  return {
    rules: [...earlier.rules, ...later.rules],
    warnings: [...earlier.warnings, ...later.warnings],
    anonymous: mergeSets(earlier.anonymous, later.anonymous),
    users,
    patterns: mergeSets(earlier.patterns, later.patterns)
  }
}
