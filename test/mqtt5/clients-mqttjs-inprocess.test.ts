// The in-process API and MQTT.js 5 meet through the broker: properties given to
// broker.publish() reach an MQTT 5 client as it would send them, and an in-process subscriber
// sees the properties an MQTT 5 client published (MQTT 5.0, 3.3.2.3).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DeliveredMessage } from '../../lib'
import { startBroker } from '../helpers/broker'
import { bounded, connectV5, publish } from './mqttjs'

test('properties given to broker.publish() reach an MQTT.js subscriber', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('local/#', { qos: 1, properties: { subscriptionIdentifier: 3 } })
  h.broker.publish({
    topic: 'local/out',
    payload: 'from the process',
    qos: 1,
    properties: {
      contentType: 'text/plain',
      responseTopic: 'local/replies',
      correlationData: Buffer.from('id-1'),
      payloadFormatIndicator: true,
      userProperties: { a: ['1', '2'], b: 'x' }
    }
  })
  const message = await sub.next()
  assert.deepEqual([message.topic, message.payload, message.packet.qos], ['local/out', 'from the process', 1])
  assert.deepEqual({ ...message.packet.properties, userProperties: { ...message.packet.properties?.userProperties } }, {
    contentType: 'text/plain',
    responseTopic: 'local/replies',
    correlationData: Buffer.from('id-1'),
    payloadFormatIndicator: true,
    userProperties: { a: ['1', '2'], b: 'x' },
    subscriptionIdentifier: 3
  })
})

test('an in-process subscriber sees what an MQTT.js client published, with its subscription identifier', async (t) => {
  const h = await startBroker(t)
  const received: DeliveredMessage[] = []
  const arrived = new Promise<void>((resolve) => {
    h.broker.subscribe('local/#', 2, (message) => { received.push(message); resolve() }, { subscriptionIdentifier: 8 })
  })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'local/in', 'to the process', {
    qos: 2,
    properties: { contentType: 'application/json', correlationData: Buffer.from([9]), userProperties: { k: ['v1', 'v2'] }, responseTopic: 'r' }
  })
  await bounded(arrived, 'in-process delivery')
  assert.deepEqual(received.map((m) => ({ ...m, payload: m.payload.toString() })), [{
    topic: 'local/in',
    payload: 'to the process',
    qos: 2,
    retain: false,
    properties: { contentType: 'application/json', correlationData: Buffer.from([9]), userProperties: { k: ['v1', 'v2'] }, responseTopic: 'r', subscriptionIdentifier: 8 }
  }])
})
