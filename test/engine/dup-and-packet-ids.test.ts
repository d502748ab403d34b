// Fixed header flags and packet identifiers of the packets that are not PUBLISH: MQTT 3.1 lets a
// client set DUP on a re-sent PUBREL, SUBSCRIBE or UNSUBSCRIBE (MQTT 3.1, 2.1), MQTT 3.1.1 and 5
// reserve those bits [MQTT-2.2.2-1, -2]; SUBSCRIBE and UNSUBSCRIBE need a non-zero packet
// identifier [MQTT-2.3.1-1]. Literal bytes: no client library sets these bits on purpose.
import assert from 'node:assert/strict'
import type mqttPacket from 'mqtt-packet'
import { describe, test } from 'node:test'
import { packet as rawPacket, mqttString } from './bad-input/raw'
import { startBroker } from '../helpers/broker'
import { publishPacket, unsubackPacket } from '../helpers/raw-client'
import { connect5, nextOf } from '../mqtt5/v5'

const PUBREL_DUP = 0x6a
const SUBSCRIBE_DUP = 0x8a
const UNSUBSCRIBE_DUP = 0xaa

function subscribeBytes (firstByte: number, packetId: number, filter: string, qos: number, v5 = false): Buffer {
  return rawPacket(firstByte, Buffer.concat([Buffer.from([packetId >> 8, packetId & 0xff, ...(v5 ? [0] : [])]), mqttString(filter), Buffer.from([qos])]))
}

function unsubscribeBytes (firstByte: number, packetId: number, filter: string, v5 = false): Buffer {
  return rawPacket(firstByte, Buffer.concat([Buffer.from([packetId >> 8, packetId & 0xff, ...(v5 ? [0] : [])]), mqttString(filter)]))
}

describe('MQTT 3.1: DUP on a re-sent PUBREL, SUBSCRIBE and UNSUBSCRIBE', () => {
  test('a QoS 2 exchange interrupted before PUBREL completes after a reconnect, delivered once', async (t) => {
    const h = await startBroker(t)
    const sub = await h.client({ clientId: 'watcher' })
    await sub.subscribe('meter/#', 2)
    const device = await h.client({ clientId: 'meter31', protocolVersion: 3, clean: false })
    device.send(publishPacket('meter/1', 'kWh 42', 2, { messageId: 7 }))
    const pubrec = await device.expectPacket({ cmd: 'pubrec', messageId: 7 })
    assert.deepEqual(pubrec.bytes, Buffer.from([0x50, 0x02, 0x00, 0x07]))
    await sub.expectPacket(publishPacket('meter/1', 'kWh 42', 2, { messageId: 1 }))
    sub.send({ cmd: 'pubrec', messageId: 1 })
    await sub.expectPacket({ cmd: 'pubrel', messageId: 1 })
    sub.send({ cmd: 'pubcomp', messageId: 1 })
    // The link drops before PUBREL; the device comes back and re-sends it with DUP set.
    await device.destroy()
    const again = await h.client({ clientId: 'meter31', protocolVersion: 3, clean: false })
    again.send(Buffer.from([PUBREL_DUP, 0x02, 0x00, 0x07]))
    const pubcomp = await again.expectPacket({ cmd: 'pubcomp', messageId: 7 })
    assert.deepEqual(pubcomp.bytes, Buffer.from([0x70, 0x02, 0x00, 0x07]))
    // A PUBLISH re-sent with the same id now is a new message: the old one was released.
    await again.expectNothingPending()
    await sub.expectNothingPending()
  })

  test('SUBSCRIBE and UNSUBSCRIBE with DUP are answered as on their first sending', async (t) => {
    const h = await startBroker(t)
    const device = await h.client({ clientId: 'old31', protocolVersion: 3 })
    device.send(subscribeBytes(SUBSCRIBE_DUP, 3, 'cmd/old31', 1))
    const suback = await device.expectPacket({ cmd: 'suback', messageId: 3, granted: [1] })
    assert.deepEqual(suback.bytes, Buffer.from([0x90, 0x03, 0x00, 0x03, 0x01]))
    const pub = await h.client({ clientId: 'pub' })
    pub.send(publishPacket('cmd/old31', 'on', 1, { messageId: 1 }))
    await pub.expectPacket({ cmd: 'puback', messageId: 1 })
    await device.expectPacket(publishPacket('cmd/old31', 'on', 1, { messageId: 1 }))
    device.send({ cmd: 'puback', messageId: 1 })
    device.send(unsubscribeBytes(UNSUBSCRIBE_DUP, 4, 'cmd/old31'))
    const unsuback = await device.expectPacket(unsubackPacket(4))
    assert.deepEqual(unsuback.bytes, Buffer.from([0xb0, 0x02, 0x00, 0x04]))
    pub.send(publishPacket('cmd/old31', 'off', 1, { messageId: 2 }))
    await pub.expectPacket({ cmd: 'puback', messageId: 2 })
    await device.expectNothingPending()
  })

  for (const [name, bytes] of [
    ['PUBREL', Buffer.from([PUBREL_DUP, 0x02, 0x00, 0x01])],
    ['SUBSCRIBE', subscribeBytes(SUBSCRIBE_DUP, 1, 'a', 0)],
    ['UNSUBSCRIBE', unsubscribeBytes(UNSUBSCRIBE_DUP, 1, 'a')]
  ] as const) {
    test(`MQTT 3.1.1: ${name} with DUP set is malformed and closes the connection [MQTT-2.2.2-2]`, async (t) => {
      const h = await startBroker(t)
      const client = await h.client({ clientId: 'strict311' })
      client.send(bytes)
      await client.expectClosed()
    })
  }

  test('MQTT 5: SUBSCRIBE with DUP set is a Malformed Packet, DISCONNECT 0x81 [MQTT-2.2.2-2]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'strict5' })
    client.send(subscribeBytes(SUBSCRIBE_DUP, 1, 'a', 0, true))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x81)
    await client.expectClosed()
  })

  test('MQTT 3.1: the other reserved bits of SUBSCRIBE are still checked', async (t) => {
    const h = await startBroker(t)
    const device = await h.client({ clientId: 'old31', protocolVersion: 3 })
    // DUP with QoS 0 is no re-sent SUBSCRIBE: MQTT 3.1 sends SUBSCRIBE at QoS 1.
    device.send(subscribeBytes(0x88, 1, 'a', 0))
    await device.expectClosed()
  })
})

describe('packet identifier 0 in SUBSCRIBE and UNSUBSCRIBE [MQTT-2.3.1-1]', () => {
  test('MQTT 3.1.1: SUBSCRIBE with packet id 0 closes the connection without SUBACK', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'zero' })
    client.send(subscribeBytes(0x82, 0, 'a', 0))
    await client.expectClosed()
    assert.equal(h.broker.subscriptionCount, 0)
  })

  test('MQTT 3.1.1: UNSUBSCRIBE with packet id 0 closes the connection without UNSUBACK', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'zero', clean: false })
    await client.subscribe('a', 0)
    client.send(unsubscribeBytes(0xa2, 0, 'a'))
    await client.expectClosed()
    // Nothing of the refused packet was carried out: the persistent session keeps its filter.
    assert.equal(h.broker.subscriptionCount, 1)
  })

  for (const [name, bytes] of [
    ['SUBSCRIBE', subscribeBytes(0x82, 0, 'a', 0, true)],
    ['UNSUBSCRIBE', unsubscribeBytes(0xa2, 0, 'a', true)]
  ] as const) {
    test(`MQTT 5: ${name} with packet id 0 is a Protocol Error, DISCONNECT 0x82 [MQTT-2.2.1-3]`, async (t) => {
      const h = await startBroker(t)
      const { client } = await connect5(h, { clientId: 'zero5' })
      client.send(bytes)
      assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x82)
      await client.expectClosed()
    })
  }
})
