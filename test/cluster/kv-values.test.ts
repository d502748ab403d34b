// Keys and values of the cluster's key-value buckets (lib/cluster/kv-keys.ts, kv-codec.ts): keys
// nats.js accepts for any topic a subject can carry and any client id, values that read back whole.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clientKey, retainedKey, willKey } from '../../lib/cluster/kv-keys'
import { messageToValue, recordToValue, valueToMessage, valueToRecord } from '../../lib/cluster/kv-codec'
import type { SessionRecord } from '../../lib/store/records'
import type { ClientInfo, Message } from '../../lib/types'

/** nats.js's own rule for a key (kv.ts validateKey). */
const VALID_KEY = /^[-/=.\w]+$/
const validKey = (key: string): boolean => VALID_KEY.test(key) && !key.startsWith('.') && !key.endsWith('.')

test('a retained message\'s key is its topic\'s subject, with what a key cannot hold written =XX', () => {
  assert.equal(retainedKey('sensors/kitchen/temp'), 'sensors.kitchen.temp')
  // nats-server's escapes for empty levels and a '.' stay ('/.', './', '//')
  assert.equal(retainedKey('/lead'), '/.lead')
  assert.equal(retainedKey('a//b'), 'a./.b')
  assert.equal(retainedKey('v1.2/x'), 'v1//2.x')
  assert.equal(retainedKey('$aws/things'), '=24aws.things')
  assert.equal(retainedKey('küche/licht'), 'k=C3=BCche.licht')
  // '=' is escaped too, so no two topics share a key
  assert.notEqual(retainedKey('=24aws/things'), retainedKey('$aws/things'))
  for (const topic of ['/', 'a/', 'a:b/c@d', 'emoji/🙂', 'x=y']) {
    const key = retainedKey(topic)
    assert.ok(key !== undefined && validKey(key), `${topic} -> ${String(key)}`)
  }
  // No subject, no key: whitespace, a level that is a NATS wildcard
  assert.equal(retainedKey('a b'), undefined)
  assert.equal(retainedKey('a/*/b'), undefined)
})

test('a client id is one key token; a long one is hashed', () => {
  assert.equal(clientKey('sensor-7'), 'sensor-7')
  assert.equal(clientKey('a.b/c'), 'a=2Eb=2Fc')
  assert.equal(willKey('node-1', 'a.b'), 'node-1.a=2Eb')
  const long = clientKey('x'.repeat(300))
  assert.match(long, /^=h[0-9a-f]{64}$/)
  assert.ok(validKey(clientKey('ünïcode id with spaces')))
  assert.notEqual(clientKey('x'.repeat(300)), clientKey('x'.repeat(301)))
})

test('a retained message and a session record with its will read back whole; a damaged value reads as nothing', () => {
  const message: Message = {
    id: 12,
    topic: 'plant/pump',
    payload: Buffer.from('running'),
    qos: 1,
    retain: true,
    expiresAt: 1_900_000_000_000,
    properties: { contentType: 'text/plain', correlationData: Buffer.from([1, 2, 3]), messageExpiryInterval: 60 },
    userPropertyPairs: [['site', 'north']],
    origin: { kind: 'client', clientId: 'pump-controller' }
  }
  assert.deepEqual(valueToMessage(messageToValue(message)), message)
  const client: ClientInfo = { clientId: 'sensor-7', username: 'field', protocolVersion: 5, cleanSession: false, keepaliveSec: 30 }
  const record: SessionRecord = {
    clientId: 'sensor-7',
    expiryIntervalSec: 600,
    offlineSinceMs: 0,
    expiresAtMs: undefined,
    client,
    will: { message: { id: 0, topic: 'wills/sensor-7', payload: Buffer.from('offline'), qos: 1, retain: false, origin: { kind: 'will', clientId: 'sensor-7' } }, client, delaySec: 5, publishAtMs: undefined }
  }
  assert.deepEqual(valueToRecord(recordToValue(record)), record)
  const damaged = messageToValue(message)
  damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1)
  assert.equal(valueToMessage(damaged), undefined)
  assert.equal(valueToRecord(messageToValue(message)), undefined)
})
