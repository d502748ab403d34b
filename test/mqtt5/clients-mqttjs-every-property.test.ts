// MQTT.js 5 sending every property each client packet may carry (MQTT 5.0, 2.2.2.2): the broker
// reads them all strictly and accepts each packet as valid.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { bounded, connectV5, publish } from './mqttjs'

test('CONNECT, SUBSCRIBE, UNSUBSCRIBE, PUBLISH and DISCONNECT with every property they allow are accepted', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('full/#', { qos: 2 })
  const c = await connectV5(t, h.port, {
    clientId: 'full',
    clean: false,
    properties: {
      sessionExpiryInterval: 120,
      receiveMaximum: 50,
      maximumPacketSize: 10_000,
      topicAliasMaximum: 5,
      requestResponseInformation: true,
      requestProblemInformation: false,
      userProperties: { device: 'd1', fw: ['1.0', 'beta'] }
    },
    will: {
      topic: 'full/will',
      payload: Buffer.from('will payload'),
      qos: 2,
      retain: false,
      properties: {
        willDelayInterval: 0,
        payloadFormatIndicator: true,
        messageExpiryInterval: 600,
        contentType: 'text/plain',
        responseTopic: 'full/will/replies',
        correlationData: Buffer.from([1, 2, 3]),
        userProperties: { cause: 'test' }
      }
    }
  })
  assert.deepEqual(c.connack.properties, { topicAliasMaximum: 10, receiveMaximum: 20, maximumPacketSize: 2_000_000, responseInformation: 'responses/full/' })
  await c.client.subscribeAsync('own/#', { qos: 2, nl: false, rap: true, rh: 1, properties: { subscriptionIdentifier: 268_435_455, userProperties: { why: 'sub' } } })
  await publish(c, 'own/x', 'hi', { qos: 2, retain: false, properties: { topicAlias: 1, userProperties: { k: 'v' } } })
  const own = await c.next()
  assert.deepEqual([own.topic, own.payload, own.packet.properties?.subscriptionIdentifier], ['own/x', 'hi', 268_435_455])
  await c.client.unsubscribeAsync('own/#', { properties: { userProperties: { why: 'unsub' } } })
  const gone = once(h.broker, 'clientDisconnected')
  // 0x04: disconnect with the will, and a reason string and user properties the broker must accept.
  await c.client.endAsync({ reasonCode: 4, properties: { sessionExpiryInterval: 30, reasonString: 'leaving', userProperties: { bye: 'now' } } })
  const [event] = await bounded(gone, 'clientDisconnected')
  assert.deepEqual([event.reason, event.willPublished], ['disconnect', true])
  const will = await watcher.next()
  assert.deepEqual([will.topic, will.payload, will.packet.qos], ['full/will', 'will payload', 2])
  assert.deepEqual({ ...will.packet.properties, userProperties: { ...will.packet.properties?.userProperties } }, {
    payloadFormatIndicator: true,
    messageExpiryInterval: 600,
    contentType: 'text/plain',
    responseTopic: 'full/will/replies',
    correlationData: Buffer.from([1, 2, 3]),
    userProperties: { cause: 'test' }
  })
  // The DISCONNECT's Session Expiry Interval kept the session.
  const back = await connectV5(t, h.port, { clientId: 'full', clean: false })
  assert.equal(back.connack.sessionPresent, true)
})
