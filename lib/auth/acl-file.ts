// Mosquitto's acl_file (mosquitto.conf(5); parsed as Mosquitto 2.0's security_default.c does):
//   user <username>                              the topic lines after it are that user's
//   topic [read|write|readwrite|deny] <filter>   no access word means readwrite
//   pattern [read|write|readwrite|deny] <filter> for every client, %c = client id, %u = username
// Topic lines before the first `user` line are the anonymous clients' (no username). A user named
// twice gets the rules of both blocks. The filter is the rest of the line, so it may hold spaces
// when the access word is given. Lines starting with '#' are comments. Unlike Mosquitto, tabs
// separate words too and a comment may be indented; anything else malformed names file:line.
// The rules are compiled here into levels, so the matcher (acl-match.ts) never splits a rule.
import { ConfigError } from '../errors'
import { readNamedFile, splitConfText } from '../config/lines'
import { topicFilterProblem } from '../topics/validate'

export type AclRuleAccess = 'read' | 'write' | 'readwrite' | 'deny'

/** One `topic` or `pattern` line, as written. */
export interface AclRule {
  kind: 'topic' | 'pattern'
  access: AclRuleAccess
  filter: string
  /** The `user` block of a topic line; undefined for the anonymous block and for patterns. */
  username?: string
  /** `file:line`, for messages. */
  source: string
}

/**
 * A topic filter level: a string (the wildcards '+' and '#' as themselves, as no literal level
 * can be either), or a pattern level holding %c or %u.
 */
export type AclLevel = string | AclTemplate

/**
 * A pattern level with substitutions: literal text at even indexes, and at odd indexes 'c' or
 * 'u' for the client id or username between them ('dev-%c' is ['dev-', 'c', '']).
 */
export type AclTemplate = readonly string[]

export interface AclFilter {
  levels: readonly AclLevel[]
  /** Which substitutions the filter uses (patterns only). */
  usesClientId: boolean
  usesUsername: boolean
  /** The filter as written, for textual substitution and for messages. */
  text: string
}

/** The filters of one user block (or of the patterns), by what they do. */
export interface AclRuleSet {
  deny: AclFilter[]
  read: AclFilter[]
  write: AclFilter[]
}

export interface AclRules {
  /** Every rule as written, in file order. */
  rules: readonly AclRule[]
  /** Doubtful but valid lines (file:line: why), for the log; Mosquitto warns about the first kind too. */
  warnings: readonly string[]
  /** The topic lines before the first `user` line; undefined when there are none. */
  anonymous: AclRuleSet | undefined
  users: ReadonlyMap<string, AclRuleSet>
  /** Every `pattern` line; undefined when there are none. */
  patterns: AclRuleSet | undefined
}

const ACCESS_WORDS: ReadonlySet<string> = new Set(['read', 'write', 'readwrite', 'deny'])

function compileLevel (level: string, pattern: boolean): AclLevel {
  if (!pattern || !/%[cu]/.test(level)) return level
  // split() with a capturing group keeps the letters between the texts: 'a%cb' -> ['a', 'c', 'b']
  return level.split(/%([cu])/)
}

export function compileAclFilter (text: string, pattern: boolean): AclFilter {
  return {
    levels: text.split('/').map((level) => compileLevel(level, pattern)),
    usesClientId: pattern && text.includes('%c'),
    usesUsername: pattern && text.includes('%u'),
    text
  }
}

function emptySet (): AclRuleSet {
  return { deny: [], read: [], write: [] }
}

function addRule (set: AclRuleSet, access: AclRuleAccess, filter: AclFilter): void {
  if (access === 'deny') set.deny.push(filter)
  if (access === 'read' || access === 'readwrite') set.read.push(filter)
  if (access === 'write' || access === 'readwrite') set.write.push(filter)
}

/** `[access] <filter>` after `topic` or `pattern`. */
function parseAccessAndFilter (word: string, values: string[], rest: string, source: string): { access: AclRuleAccess, filter: string } {
  if (values.length === 0) throw new ConfigError(`'${word}' needs a topic filter: ${word} [read|write|readwrite|deny] <filter>`, source)
  let access: AclRuleAccess = 'readwrite'
  let filter = rest
  if (values.length > 1) {
    const first = values[0] as string
    if (!ACCESS_WORDS.has(first)) throw new ConfigError(`unknown access '${first}': expected read, write, readwrite or deny`, source)
    access = first as AclRuleAccess
    filter = rest.slice(first.length).trim()
  }
  const problem = topicFilterProblem(filter)
  if (problem !== undefined) throw new ConfigError(`invalid topic filter '${filter}': it ${problem}`, source)
  return { access, filter }
}

/** Parses the text of an ACL file; `fileName` names it in errors (file:line). */
export function parseAclFile (text: string, fileName: string): AclRules {
  const rules: AclRule[] = []
  const warnings: string[] = []
  const users = new Map<string, AclRuleSet>()
  let anonymous: AclRuleSet | undefined
  let patterns: AclRuleSet | undefined
  let username: string | undefined
  let block: AclRuleSet | undefined
  for (const { word, values, rest, source } of splitConfText(text, fileName)) {
    if (word === 'user') {
      if (rest === '') throw new ConfigError("'user' needs a username", source)
      username = rest
      block = users.get(username) ?? emptySet()
      users.set(username, block)
      continue
    }
    if (word !== 'topic' && word !== 'pattern') throw new ConfigError(`unknown ACL line '${word}': expected user, topic or pattern`, source)
    const { access, filter } = parseAccessAndFilter(word, values, rest, source)
    const pattern = word === 'pattern'
    const compiled = compileAclFilter(filter, pattern)
    if (pattern) {
      if (!compiled.usesClientId && !compiled.usesUsername) warnings.push(`${source}: pattern '${filter}' contains neither %c nor %u, so it applies to every client alike`)
      patterns ??= emptySet()
      addRule(patterns, access, compiled)
      rules.push({ kind: 'pattern', access, filter, source })
      continue
    }
    if (/%[cu]/.test(filter)) warnings.push(`${source}: '${filter}' is a topic line, where %c and %u are plain text: a pattern line substitutes them`)
    if (block === undefined) block = anonymous = emptySet()
    addRule(block, access, compiled)
    rules.push(username === undefined ? { kind: 'topic', access, filter, source } : { kind: 'topic', access, filter, username, source })
  }
  return { rules, warnings, anonymous, users, patterns }
}

/** Reads and parses an acl_file; `mentionedAt` is where the configuration named it. */
export function readAclFile (file: string, mentionedAt: string): AclRules {
  return parseAclFile(readNamedFile('acl_file', file, mentionedAt), file)
}
