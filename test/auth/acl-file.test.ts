// acl_file: every line kind and its errors (file:line), and what aclAllows decides for read, write
// and subscribe: blocks, deny before grant, patterns with %c and %u, '$' topics, and the cases
// where a substituted value could leave its level.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { parseAclFile, readAclFile, type AclRules } from '../../lib/auth/acl-file'
import { aclAllows, type AclAccess, type AclClient } from '../../lib/auth/acl-match'
import { ConfigError } from '../../lib/errors'

type Case = [AclClient, string, AclAccess, boolean]

function check (rules: AclRules, cases: Case[]): void {
  const wrong = cases
    .filter(([client, topic, access, expected]) => aclAllows(rules, client, topic, access) !== expected)
    .map(([client, topic, access, expected]) => `${client.username ?? '(anonymous)'}/${client.clientId} ${access} ${topic}: expected ${String(expected)}`)
  assert.deepEqual(wrong, [])
}

const anonymous: AclClient = { clientId: 'anon' }
const alice: AclClient = { clientId: 'alice-1', username: 'alice' }
const bob: AclClient = { clientId: 'bob-1', username: 'bob' }
const stranger: AclClient = { clientId: 'who', username: 'stranger' }

describe('acl_file parsing', () => {
  it('reads user, topic and pattern lines, with their access and file:line', () => {
    const rules = parseAclFile([
      '# a comment',
      '   # an indented comment',
      'topic public/#',
      '',
      'user alice',
      'topic read a/b',
      'topic\twrite\ta/c',
      'topic readwrite a/with space',
      'topic deny a/secret',
      'pattern read users/%u/#\r',
      'user  bob smith ',
      'topic write b'
    ].join('\n'), 'test.acl')
    assert.deepEqual(rules.rules, [
      { kind: 'topic', access: 'readwrite', filter: 'public/#', source: 'test.acl:3' },
      { kind: 'topic', access: 'read', filter: 'a/b', username: 'alice', source: 'test.acl:6' },
      { kind: 'topic', access: 'write', filter: 'a/c', username: 'alice', source: 'test.acl:7' },
      { kind: 'topic', access: 'readwrite', filter: 'a/with space', username: 'alice', source: 'test.acl:8' },
      { kind: 'topic', access: 'deny', filter: 'a/secret', username: 'alice', source: 'test.acl:9' },
      { kind: 'pattern', access: 'read', filter: 'users/%u/#', source: 'test.acl:10' },
      { kind: 'topic', access: 'write', filter: 'b', username: 'bob smith', source: 'test.acl:12' }
    ])
    assert.deepEqual([...rules.users.keys()], ['alice', 'bob smith'])
    assert.deepEqual(rules.warnings, [])
  })

  it('names file:line of every malformed line', () => {
    const cases: Array<[string, string]> = [
      ['users alice', "unknown ACL line 'users': expected user, topic or pattern"],
      ['topic', "'topic' needs a topic filter: topic [read|write|readwrite|deny] <filter>"],
      ['pattern', "'pattern' needs a topic filter: pattern [read|write|readwrite|deny] <filter>"],
      ['topic red a/b', "unknown access 'red': expected read, write, readwrite or deny"],
      ['topic a/b c', "unknown access 'a/b': expected read, write, readwrite or deny"],
      ['topic read a/#/b', "invalid topic filter 'a/#/b': it uses '#' other than as the whole last level"],
      ['pattern write a+/%c', "invalid topic filter 'a+/%c': it uses '+' other than as a whole level"],
      ['user', "'user' needs a username"]
    ]
    for (const [line, message] of cases) {
      assert.throws(() => parseAclFile(`topic read fine\n${line}\n`, 'bad.acl'), (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.equal(error.message, `bad.acl:2: ${message}`)
        return true
      }, line)
    }
  })

  it('warns about a pattern without %c or %u and a topic line with them', () => {
    const rules = parseAclFile('topic read users/%u\npattern read everyone/#\npattern read own/%c\n', 'warn.acl')
    assert.deepEqual(rules.warnings, [
      "warn.acl:1: 'users/%u' is a topic line, where %c and %u are plain text: a pattern line substitutes them",
      "warn.acl:2: pattern 'everyone/#' contains neither %c nor %u, so it applies to every client alike"
    ])
  })

  it('names the configuration line of an acl_file it cannot read', () => {
    assert.throws(() => readAclFile('/nonexistent/roost.acl', 'mosquitto.conf:7'), {
      name: 'ConfigError',
      message: "mosquitto.conf:7: cannot read acl_file '/nonexistent/roost.acl': no such file or directory"
    })
  })
})

describe('aclAllows: read and write', () => {
  it('gives the lines before the first user line to anonymous clients only, and a user only its own block', () => {
    const rules = parseAclFile('topic read public/#\nuser alice\ntopic readwrite a/#\nuser alice\ntopic read more/#\n', 'blocks.acl')
    check(rules, [
      [anonymous, 'public/x', 'read', true],
      [anonymous, 'public/x', 'write', false],
      [anonymous, 'a/x', 'read', false],
      [alice, 'public/x', 'read', false],
      [alice, 'a/x', 'write', true],
      // the second `user alice` block adds to the first
      [alice, 'more/x', 'read', true],
      [alice, 'more/x', 'write', false],
      // a user without a block, and no patterns: nothing at all
      [stranger, 'public/x', 'read', false],
      [stranger, 'a/x', 'read', false]
    ])
  })

  it('read, write, readwrite and deny; deny wins wherever it is in the block', () => {
    const rules = parseAclFile('user alice\ntopic read r/#\ntopic write w/#\ntopic readwrite rw/#\ntopic rw2/#\ntopic rw/secret/#\ntopic deny rw/secret/#\ntopic deny r/hidden\n', 'access.acl')
    check(rules, [
      [alice, 'r/x', 'read', true], [alice, 'r/x', 'write', false],
      [alice, 'w/x', 'read', false], [alice, 'w/x', 'write', true],
      [alice, 'rw/x', 'read', true], [alice, 'rw/x', 'write', true],
      [alice, 'rw2/x', 'read', true], [alice, 'rw2/x', 'write', true],
      [alice, 'rw/secret', 'read', false], [alice, 'rw/secret/x', 'write', false],
      [alice, 'r/hidden', 'read', false], [alice, 'r/hidden/below', 'read', true]
    ])
  })

  it("matches as MQTT filters do: '#' takes the parent level, '+' an empty level, wildcards skip '$' topics", () => {
    const rules = parseAclFile('user alice\ntopic read a/#\ntopic read +/b\ntopic read #\ntopic read $SYS/broker/#\ntopic write /+\n', 'match.acl')
    check(rules, [
      [alice, 'a', 'read', true],
      [alice, '/b', 'read', true],
      [alice, 'x/y/z', 'read', true],
      [alice, '$SYS/broker/uptime', 'read', true],
      [alice, '$SYS/other', 'read', false],
      [alice, '$app/b', 'read', false],
      [alice, '/', 'write', true],
      [alice, '/x', 'write', true],
      [alice, '/x/y', 'write', false],
      [alice, 'x', 'write', false]
    ])
  })

  it('checks the user block before the patterns: its grant beats a pattern deny, its deny a pattern grant', () => {
    const rules = parseAclFile('user alice\ntopic read users/alice/private\ntopic deny users/alice/hidden\npattern deny users/%u/private\npattern read users/%u/#\n', 'order.acl')
    check(rules, [
      [alice, 'users/alice/private', 'read', true],
      [alice, 'users/alice/hidden', 'read', false],
      [alice, 'users/alice/data', 'read', true],
      [bob, 'users/bob/private', 'read', false],
      [bob, 'users/bob/data', 'read', true],
      [bob, 'users/alice/data', 'read', false]
    ])
  })
})

describe('aclAllows: patterns', () => {
  const rules = parseAclFile([
    'topic read anon/#',
    'user dave',
    'topic read dave/#',
    'pattern readwrite users/%u/#',
    'pattern read devices/%c/#',
    'pattern write out/%u/%c',
    'pattern read sensor/dev-%c-x',
    'pattern read shared/#',
    'pattern deny users/%u/%c/private'
  ].join('\n'), 'patterns.acl')

  it('substitutes %c and %u, also within a level and several in one filter', () => {
    check(rules, [
      [alice, 'users/alice/notes', 'write', true],
      [alice, 'users/bob/notes', 'read', false],
      [alice, 'devices/alice-1/temp', 'read', true],
      [alice, 'devices/alice-1/temp', 'write', false],
      [alice, 'out/alice/alice-1', 'write', true],
      [alice, 'out/alice/bob-1', 'write', false],
      [alice, 'sensor/dev-alice-1-x', 'read', true],
      [alice, 'sensor/dev-alice-1', 'read', false],
      [alice, 'users/alice/alice-1/private', 'read', false],
      [alice, 'users/alice/bob-1/private', 'read', true],
      [alice, 'shared/x', 'read', true]
    ])
  })

  it('skips %u patterns for anonymous clients; %c patterns and plain patterns still apply', () => {
    check(rules, [
      [anonymous, 'anon/x', 'read', true],
      [anonymous, 'devices/anon/x', 'read', true],
      [anonymous, 'shared/x', 'read', true],
      [anonymous, 'users//x', 'read', false],
      [anonymous, 'out//anon', 'write', false]
    ])
  })

  it("gives nothing from the patterns to a username or client id holding '+' or '#', as Mosquitto; its block still applies", () => {
    check(rules, [
      [{ clientId: 'dev+1', username: 'alice' }, 'users/alice/x', 'read', false],
      [{ clientId: 'dev+1', username: 'alice' }, 'shared/x', 'read', false],
      [{ clientId: 'ok', username: 'al#ce' }, 'devices/ok/x', 'read', false],
      [{ clientId: 'd#1', username: 'dave' }, 'dave/x', 'read', true],
      [{ clientId: 'd#1', username: 'dave' }, 'devices/d#1/x', 'read', false]
    ])
  })

  it("grants nothing through a %c or %u holding '/' or empty, but such a value still denies as Mosquitto 2.0 puts it in", () => {
    const slashy: AclClient = { clientId: 'alice-1/evil', username: 'alice/x' }
    const empty: AclClient = { clientId: 'c', username: '' }
    check(rules, [
      // Mosquitto 2.0 would allow these: the id or name reaches into levels below another client's.
      [slashy, 'users/alice/x/data', 'read', false],
      [slashy, 'devices/alice-1/evil/t', 'read', false],
      [empty, 'users//data', 'read', false],
      // a pattern not using the odd value still applies
      [{ clientId: 'plain', username: 'a/b' }, 'devices/plain/t', 'read', true]
    ])
    const withGrant = parseAclFile('pattern read users/#\npattern deny users/%u/private\n', 'deny.acl')
    check(withGrant, [
      [slashy, 'users/alice/x/private', 'read', false],
      [slashy, 'users/alice/x/other', 'read', true],
      [{ clientId: 'c', username: '' }, 'users//private', 'read', false]
    ])
  })

  it('refuses everything when the file has no rule for the client, and an empty file refuses everyone', () => {
    check(parseAclFile('user alice\ntopic read a\n', 'only-alice.acl'), [[bob, 'a', 'read', false], [anonymous, 'a', 'read', false]])
    check(parseAclFile('# nothing yet\n', 'empty.acl'), [[alice, 'a', 'read', false], [anonymous, 'a', 'write', false], [alice, '#', 'subscribe', false]])
  })
})

describe('aclAllows: subscribe (allowed when the filter can deliver at least one readable topic)', () => {
  it("allows '#' with only a read rule for a/#, whose deliveries are then checked one by one", () => {
    const rules = parseAclFile('user alice\ntopic read a/#\ntopic write w/#\ntopic deny a/secret/#\n', 'sub.acl')
    check(rules, [
      [alice, '#', 'subscribe', true],
      [alice, '+/x', 'subscribe', true],
      [alice, 'a/+/c', 'subscribe', true],
      [alice, 'a', 'subscribe', true],
      // a write-only rule does not make a subscription useful
      [alice, 'w/#', 'subscribe', false],
      [alice, 'b/#', 'subscribe', false],
      [alice, 'a/secret/#', 'subscribe', false],
      [alice, 'a/secret/+/x', 'subscribe', false],
      // a/secret itself is denied, a/secret/x too, but a/+ still reaches a/anything-else
      [alice, 'a/+', 'subscribe', true],
      [alice, 'a/secret', 'subscribe', false]
    ])
  })

  it('refuses a filter that several deny rules cover together', () => {
    const rules = parseAclFile('user alice\ntopic read a/#\ntopic deny a\ntopic deny a/+/#\ntopic read b/#\ntopic deny b/x/#\n', 'cover.acl')
    check(rules, [
      [alice, 'a/#', 'subscribe', false],
      [alice, 'b/#', 'subscribe', true],
      [alice, 'b/x/#', 'subscribe', false],
      [alice, 'b/+/y', 'subscribe', true]
    ])
  })

  it("keeps '$' topics apart: '#' does not reach a $SYS rule, and $SYS/# needs one", () => {
    const rules = parseAclFile('user alice\ntopic read $SYS/#\nuser bob\ntopic read #\n', 'dollar.acl')
    check(rules, [
      [alice, '#', 'subscribe', false],
      [alice, '+/broker', 'subscribe', false],
      [alice, '$SYS/#', 'subscribe', true],
      [alice, '$SYS/broker/+', 'subscribe', true],
      [bob, '#', 'subscribe', true],
      [bob, '$SYS/#', 'subscribe', false]
    ])
  })

  it("checks the filter of a shared subscription without its '$share/<group>/'", () => {
    const rules = parseAclFile('user alice\ntopic read jobs/#\n', 'share.acl')
    check(rules, [
      [alice, '$share/workers/jobs/#', 'subscribe', true],
      [alice, '$share/workers/other/#', 'subscribe', false],
      [alice, '$share/workers', 'subscribe', false]
    ])
  })

  it('applies patterns for the subscribing client, and their denies, including the user block first', () => {
    const rules = parseAclFile('user alice\ntopic deny users/alice/locked/#\npattern read users/%u/#\npattern deny users/%u/private/#\npattern read %c/inbox\n', 'sub-patterns.acl')
    check(rules, [
      [alice, 'users/alice/#', 'subscribe', true],
      [alice, 'users/+/#', 'subscribe', true],
      [alice, 'users/bob/#', 'subscribe', false],
      [alice, 'users/alice/private/#', 'subscribe', false],
      [alice, 'users/alice/locked/+', 'subscribe', false],
      [alice, '+/inbox', 'subscribe', true],
      [alice, 'bob-1/inbox', 'subscribe', false],
      [{ clientId: 'x+y', username: 'alice' }, 'users/alice/#', 'subscribe', false],
      [anonymous, 'users/#', 'subscribe', false],
      [anonymous, 'anon/inbox', 'subscribe', true]
    ])
  })

  it("does not count the empty topic above '/#'", () => {
    const rules = parseAclFile('user alice\ntopic read +\ntopic read /x\n', 'slash.acl')
    check(rules, [
      [alice, '/#', 'subscribe', true],
      [alice, '/+/#', 'subscribe', true],
      [alice, '/+/+/#', 'subscribe', false],
      [alice, '+/#', 'subscribe', true]
    ])
    check(parseAclFile('user alice\ntopic read +\n', 'plus.acl'), [[alice, '/#', 'subscribe', false]])
  })
})
