// A message's headers between nodes (lib/cluster/wire.ts): QoS, retain, the publisher's id and the
// MQTT 5 properties go out and come back as they were; the expiry comes back less the time the
// message waited in the stream; a header a node did not write is passed over, not trusted.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { headers } from '@nats-io/transport-node'
import { CLUSTER_ORIGIN } from '../../lib/cluster/link'
import { incomingMessage, outgoingHeaders, USER_PROPERTIES_HEADER } from '../../lib/cluster/wire'
import type { Message } from '../../lib/types'

function travelled (message: Message, storedForMs = 0): Message {
  const h = outgoingHeaders(message, headers, true)
  const back = incomingMessage({ subject: 'req.lamp', data: message.payload, headers: h }, CLUSTER_ORIGIN, 16, 'req.lamp', storedForMs)
  assert.ok(typeof back !== 'string', String(back))
  return back
}

test('QoS, retain and every MQTT 5 property of a message cross as they were, user properties in order [MQTT-3.3.2-17]', () => {
  const sent: Message = {
    id: 7,
    topic: 'req/lamp',
    payload: Buffer.from('{"on":true}'),
    qos: 2,
    retain: true,
    origin: { kind: 'client', clientId: 'lamp-app' },
    properties: { contentType: 'application/json', responseTopic: 'reply/lamp', correlationData: Buffer.from([0, 255]), payloadFormatIndicator: true },
    userPropertyPairs: [['zone', 'b'], ['zone', 'a'], ['odd: name', 'ü']]
  }
  const back = travelled(sent)
  assert.equal(back.topic, 'req/lamp')
  assert.equal(back.qos, 2)
  assert.equal(back.retain, true)
  assert.deepEqual(back.userPropertyPairs, [['zone', 'b'], ['zone', 'a'], ['odd: name', 'ü']])
  assert.deepEqual(back.properties, {
    contentType: 'application/json',
    responseTopic: 'reply/lamp',
    correlationData: Buffer.from([0, 255]),
    payloadFormatIndicator: true,
    userProperties: { zone: ['b', 'a'], 'odd: name': 'ü' }
  })
})

test('the expiry that crosses is the time left, less the time the message waited in the stream [MQTT-3.3.2-6]', () => {
  const sent: Message = { id: 1, topic: 'req/lamp', payload: Buffer.from('x'), qos: 1, retain: false, properties: { messageExpiryInterval: 60 }, expiresAt: Date.now() + 30_000 }
  const fresh = travelled(sent)
  assert.ok((fresh.properties?.messageExpiryInterval ?? 0) <= 30 && (fresh.properties?.messageExpiryInterval ?? 0) > 25)
  const waited = travelled(sent, 20_000)
  assert.ok((waited.properties?.messageExpiryInterval ?? 0) <= 10)
  const expired = travelled(sent, 40_000)
  assert.equal(expired.properties?.messageExpiryInterval, 0)
  assert.ok((expired.expiresAt ?? Infinity) <= Date.now())
})

test('a QoS 0 message without properties travels without headers', () => {
  assert.equal(outgoingHeaders({ id: 1, topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false }, headers), undefined)
})

test('user properties a node did not write (not pairs of strings, or more than a packet may carry) are left out', () => {
  for (const value of ['not json', '{"a":"b"}', '[["a",1]]', JSON.stringify(Array.from({ length: 8193 }, () => ['k', 'v']))]) {
    const h = headers()
    h.set(USER_PROPERTIES_HEADER, value)
    const back = incomingMessage({ subject: 'a.b', data: Buffer.from('x'), headers: h }, CLUSTER_ORIGIN, 16)
    assert.ok(typeof back !== 'string')
    assert.equal(back.userPropertyPairs, undefined, value.slice(0, 20))
    assert.equal(back.properties, undefined)
  }
})
