// The Bridges tab's rows and credentials → BrokerOptions.bridges: every field the dialog saves,
// the credentials looked up by bridge name, TLS from a tls-config node, and the engine's own
// checks reporting what the dialog let through.
import assert from 'node:assert/strict'
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { resolveOptions } from '../../lib/options'
import { BridgeDialogError, type BridgeRow, bridgeOptions, parseBridgeCredential } from '../../nodes/broker/bridges'
import type { TlsLookup } from '../../nodes/broker/security'
import { embeddedOptions } from '../../nodes/broker/settings'

const PEM: TlsLookup = (id) => id === 'tls1' ? { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' } : id === 'no-ca' ? { cert: 'CERT PEM', key: 'KEY PEM' } : undefined

const CLOUD: BridgeRow = {
  name: 'cloud',
  addresses: ' cloud.example.com:8883   backup.example.com ',
  remoteClientId: 'home-1',
  tls: 'tls1',
  protocolVersion: 'mqttv50',
  cleanSession: true,
  keepalive: '30',
  startType: 'lazy',
  tryPrivate: false,
  notifications: false,
  topics: [
    { pattern: 'sensors/#', direction: 'out', qos: '1', localPrefix: 'home/', remotePrefix: 'site-1/' },
    { pattern: 'commands/+', direction: 'in', qos: 2, localPrefix: '', remotePrefix: '' },
    { pattern: '', direction: 'both', qos: '0', localPrefix: 'home/mode', remotePrefix: 'site-1/mode' }
  ]
}

function dialogError (key: string, details?: Record<string, string>): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof BridgeDialogError, String(error))
    assert.equal(error.key, key)
    if (details !== undefined) assert.deepEqual(error.details, details)
    return true
  }
}

describe('roost-broker Bridges tab → BrokerOptions.bridges', () => {
  it('maps every field of a row, with the user name and password of that bridge from the credentials', () => {
    const [bridge, ...rest] = bridgeOptions([CLOUD], JSON.stringify({ cloud: 'site-1', other: 'x' }), JSON.stringify({ cloud: 's3cret' }), PEM)
    assert.equal(rest.length, 0)
    assert.deepEqual(bridge, {
      name: 'cloud',
      addresses: ['cloud.example.com:8883', 'backup.example.com'],
      remoteClientId: 'home-1',
      remoteUsername: 'site-1',
      remotePassword: 's3cret',
      tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' },
      protocolVersion: 'mqttv50',
      cleanSession: true,
      keepaliveSec: 30,
      startType: 'lazy',
      tryPrivate: false,
      notifications: false,
      topics: [
        { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'home/', remotePrefix: 'site-1/' },
        { pattern: 'commands/+', direction: 'in', qos: 2 },
        { pattern: '', direction: 'both', qos: 0, localPrefix: 'home/mode', remotePrefix: 'site-1/mode' }
      ]
    })
    // The engine takes it as it is.
    assert.equal(resolveOptions({ bridges: [bridge as NonNullable<typeof bridge>] }).bridges[0]?.remoteUsername, 'site-1')
  })

  it('a row with only a name, an address and a topic gets Mosquitto\'s defaults; no credentials, no TLS', () => {
    assert.deepEqual(bridgeOptions([{ name: 'b', addresses: '127.0.0.1:1884', topics: [{ pattern: '#' }] }], undefined, '', PEM), [{
      name: 'b',
      addresses: ['127.0.0.1:1884'],
      protocolVersion: 'mqttv311',
      cleanSession: false,
      keepaliveSec: 60,
      startType: 'automatic',
      tryPrivate: true,
      notifications: true,
      topics: [{ pattern: '#', direction: 'out', qos: 0 }]
    }])
  })

  it('embeddedOptions passes the bridges on; a node saved before the tab has none', () => {
    const options = embeddedOptions({ port: 1883, bridges: [CLOUD] }, { bridgeUsers: '{"cloud":"u"}' }, undefined, PEM)
    assert.deepEqual(options.bridges?.map((b) => [b.name, b.remoteUsername, b.remotePassword]), [['cloud', 'u', undefined]])
    assert.deepEqual(embeddedOptions({ port: 1883 }, {}).bridges, [])
  })

  it('TLS: a missing tls-config node, or one without a CA, is refused rather than run in plain text', () => {
    assert.throws(() => bridgeOptions([{ ...CLOUD, tls: 'gone' }], '', '', PEM), dialogError('bridge-no-tls-config', { bridge: 'cloud' }))
    assert.throws(() => bridgeOptions([{ ...CLOUD, tls: 'no-ca' }], '', '', PEM), dialogError('bridge-tls-no-ca', { bridge: 'cloud' }))
  })

  it('TLS: a key encrypted with the tls-config node\'s passphrase reaches the bridge decrypted; a wrong passphrase is refused', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
    const lookup = (passphrase: string): TlsLookup => () => ({ ca: 'CA PEM', cert: 'CERT PEM', key: privateKey, passphrase })
    const key = bridgeOptions([CLOUD], '', '', lookup('pw'))[0]?.tls?.key ?? ''
    assert.doesNotMatch(key, /ENCRYPTED/)
    assert.equal(createPrivateKey(key).asymmetricKeyType, 'ec')
    assert.throws(() => bridgeOptions([CLOUD], '', '', lookup('wrong')), dialogError('bridge-tls-key'))
  })

  it('credentials that are not a JSON object of strings are refused', () => {
    for (const text of ['not json', '[]', '"x"', '{"cloud": 1}', 'null']) {
      assert.throws(() => parseBridgeCredential(text), dialogError('invalid-bridge-credentials'), text)
    }
    assert.deepEqual(parseBridgeCredential('{"a":"1","b":""}'), { a: '1', b: '' })
  })

  it('values the dialog should have caught reach the engine as typed, and its checks name the bridge and field', () => {
    const check = (row: BridgeRow, pattern: RegExp): void => {
      assert.throws(() => resolveOptions({ bridges: bridgeOptions([row], '', '', PEM) }), pattern)
    }
    check({ name: 'b', addresses: 'h:1', keepalive: 'abc', topics: [] }, /keepaliveSec/)
    check({ name: 'b', addresses: 'h:1', topics: [{ pattern: 'a/#', qos: '3' }] }, /qos/)
    check({ name: 'b', addresses: 'h:1', topics: [{ pattern: 'a', direction: 'sideways' }] }, /direction/)
    check({ name: 'b', addresses: 'h:99999', topics: [] }, /bridge 'b'.*address/)
    check({ name: 'b', addresses: 'h:1', topics: [{ pattern: '', localPrefix: 'x' }] }, /bridge 'b'.*needs both/)
    check({ name: 'b', addresses: '', topics: [] }, /addresses/)
    check({ name: 'b', addresses: 'h:1', protocolVersion: 'mqttv4', topics: [] }, /protocolVersion/)
    assert.throws(() => resolveOptions({ bridges: bridgeOptions([{ name: 'b', addresses: 'h:1', topics: [] }, { name: ' b ', addresses: 'h:2', topics: [] }], '', '', PEM) }), /defined twice/)
  })
})
