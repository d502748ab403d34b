// The roost-broker Security tab's values turned into broker options (nodes/broker/security.ts):
// users with Mosquitto hashes, the listeners table with TLS from a real tls-config node, the
// access-rule table and the client-id words; a node saved before the tab gives what it always
// gave; and the admin endpoint's hashes are Mosquitto `$7$` lines the password-file code accepts.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { DEFAULTS, resolveOptions } from '../../lib'
import { parsePasswordLine, passwordMatches } from '../../lib/config/password-file'
import { hashForDialog, PASSWORD_HASH_PATH, registerPasswordHashing } from '../../nodes/broker/password-hash'
import { aclEntries, DialogError, extraListeners, parseUserList, securityOptions, type TlsLookup, tlsPemOf } from '../../nodes/broker/security'
import { embeddedOptions } from '../../nodes/broker/settings'
import type { RedApi } from '../../nodes/shared/red'
import { helper, startServer, stopServer } from './support'

const HASH_A = '$7$101$c2FsdHNhbHRzYWx0$' + Buffer.alloc(64, 1).toString('base64')
const PEM: TlsLookup = (id) => id === 'tls1' ? { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' } : undefined

function dialogError (key: string, details?: Record<string, string>): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DialogError, String(error))
    assert.equal(error.key, key)
    if (details !== undefined) assert.deepEqual(error.details, details)
    return true
  }
}

describe('roost-broker Security tab → broker options', () => {
  it('a node saved before the tab (port, bindAddress, plain users JSON) gives the options it always gave', () => {
    const options = embeddedOptions({ port: '1884', bindAddress: '127.0.0.1', allowAnonymous: false }, { users: '[{"username":"sensor","password":"s3cret"}]' })
    assert.deepEqual(options.listeners, [{ port: 1884, host: '127.0.0.1' }])
    assert.deepEqual(options.users, { sensor: 's3cret' })
    for (const word of ['passwordHashes', 'acl', 'allowZeroLengthClientid', 'autoIdPrefix', 'clientidPrefixes', 'useUsernameAsClientid', 'checkRetainSource']) {
      assert.equal(word in options, false, word)
    }
    // And the engine takes them as they are.
    const resolved = resolveOptions(options)
    assert.equal(resolved.allowAnonymous, false)
    assert.deepEqual(resolved.users, { sensor: 's3cret' })
  })

  it('users: hashes go to passwordHashes, plain passwords saved before hashing stay users', () => {
    assert.deepEqual(parseUserList(JSON.stringify([{ username: 'a', hash: HASH_A }, { username: 'old', password: 'plain' }])),
      { users: { old: 'plain' }, passwordHashes: { a: HASH_A } })
    assert.deepEqual(parseUserList(''), { users: {} })
    assert.deepEqual(parseUserList(undefined), { users: {} })
    // A hash is never taken as a password: what is not a $6$/$7$ hash is refused.
    for (const bad of ['not json', '{}', '[1]', '[{"username":"","password":"p"}]', '[{"username":"a"}]', '[{"username":"a","hash":"plain"}]', '[{"username":"a","hash":"$7$x","password":"p"}]']) {
      assert.throws(() => parseUserList(bad), dialogError('invalid-users'), bad)
    }
  })

  it('listeners: TLS rows carry the tls-config node\'s PEM text and the certificate words; WebSocket and mount point rows', () => {
    const listeners = extraListeners({
      listenerTls: 'tls1',
      requireCertificate: true,
      useIdentityAsUsername: 'true',
      listeners: [
        { protocol: 'mqtt', tls: true, port: '8883', host: '' },
        { protocol: 'websockets', tls: false, port: 9001, host: '127.0.0.1', mountPoint: 'site-a/' },
        { protocol: 'websockets', tls: 'true', port: '9443' }
      ]
    }, PEM)
    const tls = { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', requireCertificate: true, useIdentityAsUsername: true }
    assert.deepEqual(listeners, [
      { port: 8883, tls },
      { port: 9001, host: '127.0.0.1', protocol: 'websockets', mountPoint: 'site-a/' },
      { port: 9443, protocol: 'websockets', tls }
    ])
    // Without the certificate words, the TLS options hold the PEM text only.
    assert.deepEqual(extraListeners({ listenerTls: 'tls1', listeners: [{ tls: true, port: 8883 }] }, PEM), [{ port: 8883, tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' } }])
    assert.deepEqual(extraListeners({}, PEM), [])
  })

  it('listeners: a TLS row without a usable tls-config node, a bad port or protocol is refused, naming the row', () => {
    assert.throws(() => extraListeners({ listeners: [{ port: 1 }, { tls: true, port: 8883 }] }, PEM), dialogError('no-tls-config', { row: '2' }))
    assert.throws(() => extraListeners({ listenerTls: 'gone', listeners: [{ tls: true, port: 8883 }] }, PEM), dialogError('no-tls-config', { row: '1' }))
    // A tls-config node with a CA only (a client's settings) has no server certificate.
    assert.throws(() => extraListeners({ listenerTls: 'ca-only', listeners: [{ tls: true, port: 8883 }] }, () => ({ ca: 'CA' })), dialogError('no-tls-config'))
    for (const port of ['', 'x', '-1', '65536', '1.5']) {
      assert.throws(() => extraListeners({ listeners: [{ port }] }, PEM), dialogError('invalid-listener', { row: '1' }), port)
    }
    assert.throws(() => extraListeners({ listeners: [{ port: 1, protocol: 'http' }] }, PEM), dialogError('invalid-listener'))
  })

  it('access rules: user, anonymous and pattern rows become acl entries; blank rows are skipped', () => {
    assert.deepEqual(aclEntries({
      acl: [
        { kind: 'topic', username: 'sensor', access: 'write', filter: 'sensors/#' },
        { kind: 'topic', username: '', access: 'read', filter: 'public/#' },
        { kind: 'pattern', username: 'ignored', access: 'readwrite', filter: 'devices/%c/#' },
        { kind: 'topic', username: 'x', access: 'deny', filter: '' }
      ]
    }), [
      { kind: 'topic', username: 'sensor', access: 'write', filter: 'sensors/#' },
      { kind: 'topic', access: 'read', filter: 'public/#' },
      { kind: 'pattern', access: 'readwrite', filter: 'devices/%c/#' }
    ])
    assert.throws(() => aclEntries({ acl: [{ kind: 'user', filter: 'a' }] }), dialogError('invalid-acl', { row: '1' }))
    assert.throws(() => aclEntries({ acl: [{ kind: 'topic', filter: 'a' }, { kind: 'topic', access: 'all', filter: 'a' }] }), dialogError('invalid-acl', { row: '2' }))
  })

  it('client-id words are passed only when they differ from Mosquitto\'s defaults', () => {
    assert.deepEqual(securityOptions({ allowZeroLengthClientid: true, autoIdPrefix: 'auto-', clientidPrefixes: '', useUsernameAsClientid: false, checkRetainSource: true }, undefined), { users: {} })
    assert.deepEqual(securityOptions({ allowZeroLengthClientid: 'false', autoIdPrefix: 'roost-', clientidPrefixes: 'plant-', useUsernameAsClientid: true, checkRetainSource: 'false' }, undefined), {
      users: {}, allowZeroLengthClientid: false, autoIdPrefix: 'roost-', clientidPrefixes: 'plant-', useUsernameAsClientid: true, checkRetainSource: false
    })
    // The defaults are the engine's: a node without the fields changes nothing.
    const resolved = resolveOptions(securityOptions({}, undefined))
    assert.deepEqual([resolved.allowZeroLengthClientid, resolved.autoIdPrefix, resolved.clientidPrefixes, resolved.useUsernameAsClientid, resolved.checkRetainSource],
      [DEFAULTS.allowZeroLengthClientid, DEFAULTS.autoIdPrefix, DEFAULTS.clientidPrefixes, DEFAULTS.useUsernameAsClientid, DEFAULTS.checkRetainSource])
  })

  it('embeddedOptions puts the main listener first, then the table\'s', () => {
    const options = embeddedOptions({ port: 1883, bindAddress: '127.0.0.1', listenerTls: 'tls1', listeners: [{ tls: true, port: 8883 }] }, { users: JSON.stringify([{ username: 'a', hash: HASH_A }]) }, undefined, PEM)
    assert.deepEqual(options.listeners?.map((l) => l.port), [1883, 8883])
    assert.deepEqual((options as { passwordHashes?: unknown }).passwordHashes, { a: HASH_A })
  })
})

describe('tls-config node → PEM text', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  const tlsNode = require(path.join(path.dirname(require.resolve('@node-red/nodes/package.json')), 'core/network/05-tls.js')) as unknown

  it('reads the certificate, key, CA and passphrase a real tls-config node holds', async () => {
    await helper.load([tlsNode], [{ id: 'tls1', type: 'tls-config', cert: '', key: '', ca: '', verifyservercert: true }],
      { tls1: { certdata: 'CERT PEM', keydata: 'KEY PEM', cadata: 'CA PEM', passphrase: 'secret' } })
    const node = helper.getNode('tls1') as unknown as Parameters<typeof tlsPemOf>[0]
    assert.deepEqual(tlsPemOf(node), { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', passphrase: 'secret' })
  })

  it('a tls-config node without a certificate gives no PEM text, so a TLS listener on it is refused', async () => {
    await helper.load([tlsNode], [{ id: 'tls2', type: 'tls-config', cert: '', key: '', ca: '', verifyservercert: true }], { tls2: { cadata: 'CA PEM' } })
    const pem = tlsPemOf(helper.getNode('tls2') as unknown as Parameters<typeof tlsPemOf>[0])
    assert.deepEqual(pem, { ca: 'CA PEM' })
    assert.throws(() => extraListeners({ listenerTls: 'tls2', listeners: [{ tls: true, port: 8883 }] }, () => pem), dialogError('no-tls-config'))
  })
})

describe('password hashing endpoint', () => {
  it('makes a Mosquitto $7$ PBKDF2-SHA512 line that matches the password and no other', async () => {
    const hash = await hashForDialog({ password: 'correct horse' })
    assert.match(hash ?? '', /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/)
    const parsed = parsePasswordLine(`u:${hash ?? ''}`, 'endpoint')
    assert.ok(parsed !== undefined)
    assert.equal(await passwordMatches(parsed.entry, Buffer.from('correct horse')), true)
    assert.equal(await passwordMatches(parsed.entry, Buffer.from('correct horsE')), false)
    // Two hashes of one password differ: each has its own salt.
    assert.notEqual(await hashForDialog({ password: 'correct horse' }), hash)
  })

  it('refuses a body without a string password, or one longer than MQTT can carry', async () => {
    for (const body of [undefined, null, {}, { password: 5 }, { password: 'x'.repeat(65536) }]) {
      assert.equal(await hashForDialog(body), undefined, JSON.stringify(body)?.slice(0, 30))
    }
    assert.match(await hashForDialog({ password: '' }) ?? '', /^\$7\$/)
  })

  it('is registered under roost.write', () => {
    const registered: Array<{ path: string, guard: string }> = []
    const red = {
      httpAdmin: { get: () => {}, post: (route: string, guard: { permission: string }) => { registered.push({ path: route, guard: guard.permission }) } },
      auth: { needsPermission: (permission: string) => ({ permission }) }
    } as unknown as RedApi
    registerPasswordHashing(red)
    assert.deepEqual(registered, [{ path: PASSWORD_HASH_PATH, guard: 'roost.write' }])
  })
})
