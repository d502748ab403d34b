// msg.broker of a connect action onto the remote connection's settings, under the names core
// `mqtt-broker` reads (10-mqtt.js setOptions): every value is checked first, and a bad one
// changes nothing.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { applyBrokerOverrides, type RemoteSettings } from '../../nodes/shared/broker-overrides'
import { ConnectionActionError } from '../../nodes/shared/errors'

function settings (): RemoteSettings {
  return {
    client: { host: 'old.example', port: 1883, keepaliveSec: 60, cleanSession: true, protocolVersion: 4, reconnectPeriodMs: 5000, connectTimeoutMs: 30000, clientId: 'old', username: 'u', password: 'p' },
    birth: { topic: 'flow/status', payload: Buffer.from('online'), qos: 1, retain: true }
  }
}

function refusal (broker: Record<string, unknown>): Record<string, unknown> {
  try {
    applyBrokerOverrides(settings(), broker)
  } catch (error) {
    assert.ok(error instanceof ConnectionActionError)
    assert.equal(error.key, 'invalid-option')
    return error.details
  }
  throw new Error('accepted')
}

describe('msg.broker overrides', () => {
  it('host, port, client id, credentials, keep alive, clean session and MQTT 5 connect properties', () => {
    const before = settings()
    const next = applyBrokerOverrides(before, {
      broker: 'new.example', port: '8884', clientid: 'flow-2', username: 'alice', password: '', keepalive: 30, cleansession: 'false',
      protocolVersion: 5, sessionExpiry: 3600, receiveMaximum: 10, maximumPacketSize: 65536, topicAliasMaximum: 5, userProperties: '{"site":"lab"}'
    })
    assert.deepEqual({ ...next.client }, {
      host: 'new.example', port: 8884, keepaliveSec: 30, cleanSession: false, protocolVersion: 5, reconnectPeriodMs: 5000, connectTimeoutMs: 30000,
      clientId: 'flow-2', username: 'alice',
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 10, maximumPacketSize: 65536, topicAliasMaximum: 5, userProperties: { site: 'lab' } }
    })
    // The settings given are left as they were: the transport swaps in the new ones whole.
    assert.deepEqual(before, settings())
  })

  it('url wins over broker and port; mqtts turns TLS on with verification as verifyservercert says', () => {
    const next = applyBrokerOverrides(settings(), { broker: 'ignored', port: 1, url: 'mqtts://user:p%40ss@[::1]:8885', verifyservercert: false })
    assert.deepEqual([next.client.host, next.client.port, next.client.tls, next.client.username, next.client.password], ['::1', 8885, { rejectUnauthorized: false }, 'user', 'p@ss'])
    const plain = applyBrokerOverrides(next, { broker: 'mqtt://plain.example' })
    assert.deepEqual([plain.client.host, plain.client.port, plain.client.tls], ['plain.example', 1883, undefined])
  })

  it('birth, close and will messages as objects; anything else removes them, as in core', () => {
    const next = applyBrokerOverrides(settings(), {
      birth: '',
      close: { topic: 'flow/status', payload: { state: 'bye' }, qos: '1', retain: 'true' },
      will: { topic: 'flow/status', payload: 'gone', qos: 2, retain: true }
    })
    assert.equal(next.birth, undefined)
    assert.deepEqual(next.close, { topic: 'flow/status', payload: Buffer.from('{"state":"bye"}'), qos: 1, retain: true })
    assert.deepEqual(next.client.will, { topic: 'flow/status', payload: Buffer.from('gone'), qos: 2, retain: true })
  })

  it('a bad value is refused by name, whatever else msg.broker holds', () => {
    assert.deepEqual(refusal({ port: 70000 }), { option: 'port', value: '70000' })
    assert.deepEqual(refusal({ broker: 'fine.example', keepalive: 'soon' }), { option: 'keepalive', value: 'soon' })
    assert.deepEqual(refusal({ url: 'ws://127.0.0.1:9001' }), { option: 'url', value: 'ws://127.0.0.1:9001' })
    assert.deepEqual(refusal({ protocolVersion: 6 }), { option: 'protocolVersion', value: '6' })
    assert.deepEqual(refusal({ will: { topic: 'flow/#', payload: 'x' } }), { option: 'will.topic', value: 'flow/#' })
    assert.deepEqual(refusal({ userProps: '[1, 2]' }), { option: 'userProps', value: '[1, 2]' })
    assert.deepEqual(refusal({ receiveMaximum: 0 }), { option: 'receiveMaximum', value: '0' })
    assert.deepEqual(refusal({ cleansession: 'maybe' }), { option: 'cleansession', value: 'maybe' })
  })
})
