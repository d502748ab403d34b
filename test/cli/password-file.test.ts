// password_file: Mosquitto's formats ($7$ PBKDF2-SHA512, $6$ SHA-512, plain text) read from files
// made by Debian's mosquitto_passwd (-c, -b, -H, -I, -U, -D), and the CONNACK a client gets
// through a broker configured from a mosquitto.conf file.
import { strict as assert } from 'node:assert'
import { after, before, describe, it } from 'node:test'
import { createBroker, type Broker } from '../../lib'
import { parsePasswordText, passwordMatches, readPasswordFile } from '../../lib/config/password-file'
import { resolveSettings } from '../../lib/config/settings'
import { ConfigError } from '../../lib/errors'
import { runPasswd } from '../../lib/passwd/command'
import { connectRaw, makeTempDir, runCommand } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())

async function mosquittoPasswd (args: string[]): Promise<void> {
  const result = await runCommand('mosquitto_passwd', args)
  assert.equal(result.code, 0, `mosquitto_passwd ${args.join(' ')}: ${result.stderr}`)
}

describe('password file formats', () => {
  let passwords: string

  before(async () => {
    passwords = `${temp.dir}/made-by-mosquitto.passwd`
    await mosquittoPasswd(['-c', '-b', passwords, 'alice', 'alice-secret'])
    await mosquittoPasswd(['-H', 'sha512', '-b', passwords, 'bob', 'bob secret with spaces'])
    await mosquittoPasswd(['-H', 'sha512-pbkdf2', '-b', passwords, 'carol', 'ÜnïcødÉ'])
  })

  it('reads mosquitto_passwd output: $7$ by default, $6$ with -H sha512', () => {
    const table = readPasswordFile(passwords, 'test')
    assert.deepEqual([...table.keys()], ['alice', 'bob', 'carol'])
    const alice = table.get('alice')
    assert.equal(alice?.kind, 'pbkdf2-sha512')
    assert.equal(alice?.kind === 'pbkdf2-sha512' ? alice.iterations : 0, 101)
    assert.equal(alice?.kind === 'pbkdf2-sha512' ? alice.salt.length : 0, 12)
    assert.equal(table.get('bob')?.kind, 'sha512')
    assert.equal(table.get('carol')?.kind, 'pbkdf2-sha512')
  })

  it('accepts the right password and refuses a wrong one for every format', async () => {
    const table = readPasswordFile(passwords, 'test')
    const plain = parsePasswordText('dave:dave-secret\n', 'plain.passwd')
    const cases: Array<[string, string, string, boolean]> = [
      ['$7$', 'alice', 'alice-secret', true],
      ['$7$', 'alice', 'alice-secreT', false],
      ['$7$', 'alice', '', false],
      ['$6$', 'bob', 'bob secret with spaces', true],
      ['$6$', 'bob', 'bob secret with spaces ', false],
      ['$7$ UTF-8', 'carol', 'ÜnïcødÉ', true],
      ['$7$ UTF-8', 'carol', 'Unicode', false]
    ]
    for (const [format, user, password, expected] of cases) {
      const entry = table.get(user)
      assert.ok(entry !== undefined)
      assert.equal(await passwordMatches(entry, Buffer.from(password, 'utf8')), expected, `${format} ${user} '${password}'`)
    }
    const dave = plain.get('dave')
    assert.ok(dave !== undefined)
    assert.equal(await passwordMatches(dave, Buffer.from('dave-secret')), true)
    assert.equal(await passwordMatches(dave, Buffer.from('dave-secre')), false)
  })

  it('reads a file mosquitto_passwd -U upgraded from plain text, with -I iterations', async () => {
    const upgraded = temp.write('upgraded.passwd', 'uma:uma plain\nvic:vic-plain\n')
    await mosquittoPasswd(['-U', upgraded])
    await mosquittoPasswd(['-I', '1000', '-b', upgraded, 'wes', 'wes-secret'])
    const table = readPasswordFile(upgraded, 'test')
    assert.deepEqual([...table.keys()], ['uma', 'vic', 'wes'])
    const cases: Array<[string, string, boolean]> = [['uma', 'uma plain', true], ['uma', 'uma', false], ['vic', 'vic-plain', true], ['wes', 'wes-secret', true], ['wes', 'wes', false]]
    for (const [user, password, expected] of cases) {
      const entry = table.get(user)
      assert.ok(entry?.kind === 'pbkdf2-sha512', user)
      assert.equal(entry.iterations, user === 'wes' ? 1000 : 101)
      assert.equal(await passwordMatches(entry, Buffer.from(password, 'utf8')), expected, `${user} '${password}'`)
    }
  })

  it('no longer knows a user mosquitto_passwd -D deleted, and keeps the others', async () => {
    const file = `${temp.dir}/deleted.passwd`
    await mosquittoPasswd(['-c', '-b', file, 'keep', 'keep-secret'])
    await mosquittoPasswd(['-b', file, 'gone', 'gone-secret'])
    await mosquittoPasswd(['-D', file, 'gone'])
    const table = readPasswordFile(file, 'test')
    assert.deepEqual([...table.keys()], ['keep'])
    const keep = table.get('keep')
    assert.ok(keep !== undefined)
    assert.equal(await passwordMatches(keep, Buffer.from('keep-secret')), true)
  })

  it('edits each other\'s files: roost passwd changes a mosquitto_passwd file and mosquitto_passwd a roost passwd file', async () => {
    const file = `${temp.dir}/shared.passwd`
    await mosquittoPasswd(['-c', '-b', file, 'made-by-mosquitto', 'm-secret'])
    assert.equal(await runPasswd(['-b', file, 'made-by-roost', 'r-secret'], process), 0)
    await mosquittoPasswd(['-b', file, 'made-by-mosquitto', 'm-changed'])
    assert.equal(await runPasswd(['-D', file, 'made-by-mosquitto'], process), 0)
    await mosquittoPasswd(['-H', 'sha512', '-b', file, 'late', 'late-secret'])
    const table = readPasswordFile(file, 'test')
    assert.deepEqual([...table.keys()], ['made-by-roost', 'late'])
    for (const [user, password] of [['made-by-roost', 'r-secret'], ['late', 'late-secret']] as const) {
      const entry = table.get(user)
      assert.ok(entry !== undefined)
      assert.equal(await passwordMatches(entry, Buffer.from(password)), true, user)
    }
  })

  it('names file:line of a malformed or unknown hash', () => {
    const cases: Array<[string, string]> = [
      ['alice:$7$abc$c2FsdA==$aGFzaA==', 'malformed $7$ (PBKDF2-SHA512) password hash: expected $7$<iterations>$<salt>$<hash>'],
      ['alice:$7$101$c2FsdA==', 'malformed $7$ (PBKDF2-SHA512) password hash: expected $7$<iterations>$<salt>$<hash>'],
      ['alice:$6$c2FsdA==$!!!', 'malformed $6$ (SHA-512) password hash: expected $6$<salt>$<hash>'],
      ['alice:$6$c2FsdA==$aGFzaA==', 'password hash is 4 bytes, SHA-512 gives 64'],
      ['alice:$5$c2FsdA==$aGFzaA==', "unknown password hash type '$5$': only $6$ and $7$ are known"],
      [':nobody', 'a password file line must be username:password']
    ]
    for (const [line, message] of cases) {
      assert.throws(() => parsePasswordText(`# users\n${line}\n`, 'pw.txt'), (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.equal(error.message, `pw.txt:2: ${message}`)
        return true
      }, line)
    }
  })
})

describe('password_file in a broker started from mosquitto.conf', () => {
  let broker: Broker
  let port: number

  before(async () => {
    const passwords = `${temp.dir}/broker.passwd`
    await mosquittoPasswd(['-c', '-b', passwords, 'sensor', 'right-password'])
    await mosquittoPasswd(['-H', 'sha512', '-b', passwords, 'legacy', 'old-password'])
    const conf = temp.write('broker.conf', `listener 0 127.0.0.1\npassword_file ${passwords}\n`)
    const settings = resolveSettings({ ports: [], configFile: conf, verbose: false, help: false, version: false })
    assert.equal(settings.options.passwordFile, passwords)
    broker = createBroker(settings.options)
    const [address] = await broker.listen()
    port = address?.port ?? 0
  })

  after(async () => { await broker.close() })

  it('accepts the right $7$ password with CONNACK 0', async () => {
    assert.deepEqual(await connectRaw(port, { clientId: 'c1', username: 'sensor', password: 'right-password' }), Buffer.from([0x20, 0x02, 0x00, 0x00]))
  })

  it('accepts the right $6$ password with CONNACK 0', async () => {
    assert.deepEqual(await connectRaw(port, { clientId: 'c2', username: 'legacy', password: 'old-password' }), Buffer.from([0x20, 0x02, 0x00, 0x00]))
  })

  it('[MQTT-3.2.2-5] refuses a wrong password with CONNACK 4 (bad user name or password)', async () => {
    assert.deepEqual(await connectRaw(port, { clientId: 'c3', username: 'sensor', password: 'wrong' }), Buffer.from([0x20, 0x02, 0x00, 0x04]))
  })

  it('refuses an unknown user with CONNACK 4', async () => {
    assert.deepEqual(await connectRaw(port, { clientId: 'c4', username: 'mallory', password: 'right-password' }), Buffer.from([0x20, 0x02, 0x00, 0x04]))
  })

  it('refuses a username without a password with CONNACK 4', async () => {
    assert.deepEqual(await connectRaw(port, { clientId: 'c5', username: 'sensor' }), Buffer.from([0x20, 0x02, 0x00, 0x04]))
  })

  it('Mosquitto 2: refuses an anonymous client with CONNACK 5 when the file has a listener and no allow_anonymous', async () => {
    assert.deepEqual(await connectRaw(port, { clientId: 'c6' }), Buffer.from([0x20, 0x02, 0x00, 0x05]))
  })

  it('MQTT 5: refuses a wrong password with reason code 0x86', async () => {
    // CONNACK: flags 0, reason 0x86 Bad User Name or Password, and the Reason String property
    // (0x1F) a client gets unless it turned problem information off [MQTT-3.1.2-29].
    const reason = Buffer.from('bad username or password')
    const properties = Buffer.concat([Buffer.from([0x1f, 0, reason.length]), reason])
    const expected = Buffer.concat([Buffer.from([0x20, 3 + properties.length, 0x00, 0x86, properties.length]), properties])
    assert.deepEqual(await connectRaw(port, { clientId: 'c7', username: 'sensor', password: 'wrong', protocolVersion: 5 }), expected)
  })
})
