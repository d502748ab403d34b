// The options' own rules, as the editor produces them: the `acl` table (each row the acl_file line
// it stands for, appended to acl_file) and `passwordHashes` (users with Mosquitto $6$/$7$ hashes).
// Compiled rules are compared with what the same lines in a file give; brokers are driven by MQTT.js.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createBroker } from '../../lib'
import { aclEntriesRules, mergeAclRules } from '../../lib/auth/acl-entries'
import { parseAclFile } from '../../lib/auth/acl-file'
import { aclAllows } from '../../lib/auth/acl-match'
import { formatSecret, hashPassword } from '../../lib/config/password-file'
import { ConfigError } from '../../lib/errors'
import { makeTempDir } from '../cli/helpers'
import { startBroker } from '../clients/support'
import { connectV5, publish } from '../mqtt5/mqttjs'

describe('the acl table and passwordHashes options', { timeout: 30_000 }, () => {
  test('each row means what its acl_file line means; a user named in the file and the table gets both', () => {
    const table = aclEntriesRules([
      { kind: 'topic', access: 'read', filter: 'public/#' },
      { kind: 'topic', username: 'alice', access: 'readwrite', filter: 'alice/#' },
      { kind: 'topic', username: 'alice', access: 'deny', filter: 'alice/private' },
      { kind: 'pattern', username: '', access: 'write', filter: 'devices/%c/state' }
    ])
    const file = parseAclFile('topic read public/#\nuser alice\ntopic readwrite alice/#\ntopic deny alice/private\npattern write devices/%c/state\n', 'same.acl')
    const alice = { clientId: 'dev7', username: 'alice' }
    const cases: Array<[typeof alice | { clientId: string }, string, 'read' | 'write' | 'subscribe']> = [
      [{ clientId: 'anon' }, 'public/news', 'read'], [{ clientId: 'anon' }, 'public/news', 'write'],
      [alice, 'alice/diary', 'write'], [alice, 'alice/private', 'read'], [alice, 'devices/dev7/state', 'write'],
      [alice, 'devices/dev8/state', 'write'], [alice, 'alice/#', 'subscribe']
    ]
    assert.ok(table !== undefined)
    for (const [client, topic, access] of cases) {
      assert.equal(aclAllows(table, client, topic, access), aclAllows(file, client, topic, access), `${client.clientId} ${access} ${topic}`)
    }
    const merged = mergeAclRules(parseAclFile('user alice\ntopic read shared/#\n', 'file.acl'), table)
    assert.equal(aclAllows(merged, alice, 'shared/x', 'read'), true)
    assert.equal(aclAllows(merged, alice, 'alice/diary', 'write'), true)
  })

  test('a bad row is a ConfigError naming it', () => {
    assert.throws(() => createBroker({ acl: [{ kind: 'topic', access: 'read', filter: 'ok/#' }, { kind: 'topic', access: 'read', filter: 'a/#/b' }] }),
      (error: unknown) => error instanceof ConfigError && error.message === "acl[1]: invalid topic filter 'a/#/b': it uses '#' other than as the whole last level")
    assert.throws(() => createBroker({ acl: [{ kind: 'pattern', username: 'bob', access: 'read', filter: 'x/%u' }] }),
      (error: unknown) => error instanceof ConfigError && /^acl\[0\]: a pattern applies to every client, so it takes no username/.test(error.message))
    assert.throws(() => createBroker({ acl: [{ kind: 'topic', access: 'read', filter: 'a\nuser root' }] }), ConfigError)
    assert.throws(() => createBroker({ passwordHashes: { alice: 'plain text' } }), ConfigError)
  })

  test('a broker enforces the table and takes the hashed users (MQTT.js)', async (t) => {
    const hash = formatSecret(await hashPassword(Buffer.from('alice-pw'), 'sha512-pbkdf2'))
    const running = await startBroker({
      passwordHashes: { alice: hash },
      acl: [{ kind: 'topic', username: 'alice', access: 'readwrite', filter: 'alice/#' }]
    })
    t.after(async () => { await running.broker.close() })
    const alice = await connectV5(t, running.port, { clientId: 'alice', username: 'alice', password: 'alice-pw' })
    assert.equal(((await publish(alice, 'alice/x', 'mine', { qos: 1 })) as { reasonCode?: number }).reasonCode ?? 0, 0)
    await assert.rejects(publish(alice, 'bob/x', 'not mine', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
    await assert.rejects(connectV5(t, running.port, { clientId: 'alice-2', username: 'alice', password: 'wrong' }))
  })

  test('a password_file that cannot be read is a ConfigError when the broker is created', () => {
    const temp = makeTempDir()
    try {
      assert.throws(() => createBroker({ passwordFile: `${temp.dir}/missing` }),
        (error: unknown) => error instanceof ConfigError && error.message === `options.passwordFile: cannot read password_file '${temp.dir}/missing': no such file or directory`)
    } finally {
      temp.remove()
    }
  })
})
