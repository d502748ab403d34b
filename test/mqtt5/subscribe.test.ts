// MQTT 5 SUBSCRIBE and UNSUBSCRIBE (3.8, 3.10): subscription options, identifiers, shared
// subscription rules, reason codes; and the server's DISCONNECT reason codes (4.13).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import { startBroker } from '../helpers/broker'
import { connect5, nextOf, rawPacket, utf8, wait } from './v5'

describe('MQTT 5 subscription options', () => {
  test('No Local: a client does not get back what it published [MQTT-3.8.3-3]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'me' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'chat', qos: 0, nl: true }] })
    await nextOf(client, 'suback')
    client.send({ cmd: 'publish', topic: 'chat', payload: Buffer.from('mine'), qos: 0, retain: false, dup: false })
    h.broker.publish({ topic: 'chat', payload: 'theirs' })
    const p = await nextOf<mqttPacket.IPublishPacket>(client, 'publish')
    assert.equal(p.payload.toString(), 'theirs')
    await client.expectNothingPending()
  })

  test('Retain As Published keeps the retain flag when forwarding [MQTT-3.3.1-12]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'rap' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'keep', qos: 0, rap: true }, { topic: 'clear', qos: 0 }] })
    await nextOf(client, 'suback')
    h.broker.publish({ topic: 'keep', payload: 'a', retain: true })
    h.broker.publish({ topic: 'clear', payload: 'b', retain: true })
    assert.equal((await nextOf<mqttPacket.IPublishPacket>(client, 'publish')).retain, true)
    assert.equal((await nextOf<mqttPacket.IPublishPacket>(client, 'publish')).retain, false)
  })

  test('Retain Handling 0 sends retained on every subscribe, 1 only on a new one, 2 never (3.8.3.1)', async (t) => {
    const h = await startBroker(t)
    h.broker.publish({ topic: 'rh', payload: 'stored', retain: true })
    const { client } = await connect5(h, { clientId: 'rh' })
    const counts: number[] = []
    for (const rh of [0, 0, 1, 1, 2] as const) {
      client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rh', qos: 0, rh }] })
      await nextOf(client, 'suback')
      let count = 0
      client.send({ cmd: 'pingreq' })
      for (;;) {
        const p = await client.next()
        if (p.cmd === 'pingresp') break
        count++
      }
      counts.push(count)
      if (rh === 0 && counts.length === 2) {
        client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['rh'] })
        await nextOf(client, 'unsuback')
      }
    }
    // rh 0 twice: sent twice; unsubscribed; rh 1 new: sent; rh 1 again (existing): not sent; rh 2: not sent.
    assert.deepEqual(counts, [1, 1, 1, 0, 0])
  })

  test('every matching subscription identifier goes with the one delivery [MQTT-3.3.4-4]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'ids' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 0 }], properties: { subscriptionIdentifier: 5 } })
    await nextOf(client, 'suback')
    client.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'a/#', qos: 1 }], properties: { subscriptionIdentifier: 9 } })
    await nextOf(client, 'suback')
    client.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/b', qos: 0 }] })
    await nextOf(client, 'suback')
    h.broker.publish({ topic: 'a/b', payload: 'x', qos: 1 })
    const p = await nextOf<mqttPacket.IPublishPacket>(client, 'publish')
    assert.equal(p.qos, 1)
    assert.deepEqual(p.properties?.subscriptionIdentifier, [5, 9])
  })

  test('retained messages on subscribe carry the subscription identifier', async (t) => {
    const h = await startBroker(t)
    h.broker.publish({ topic: 'kept', payload: 'x', retain: true })
    const { client } = await connect5(h, { clientId: 'ids' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'kept', qos: 0 }], properties: { subscriptionIdentifier: 77 } })
    await nextOf(client, 'suback')
    assert.equal((await nextOf<mqttPacket.IPublishPacket>(client, 'publish')).properties?.subscriptionIdentifier, 77)
  })

  test('Subscription Identifier 0 is a Protocol Error', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'zero' })
    // SUBSCRIBE id 1, properties: 0x0B 0, filter 't' QoS 0.
    client.send(rawPacket(0x82, [0, 1, 2, 0x0b, 0, ...utf8('t'), 0]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x82)
  })

  test('No Local on a shared subscription is a Protocol Error [MQTT-3.8.3-4]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'shared' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/t', qos: 0, nl: true }] })
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x82)
  })

  test('a shared subscription gets no retained messages on subscribe (4.8.2)', async (t) => {
    const h = await startBroker(t)
    h.broker.publish({ topic: 's', payload: 'kept', retain: true })
    const { client } = await connect5(h, { clientId: 'shared' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/s', qos: 0 }] })
    await nextOf(client, 'suback')
    await client.expectNothingPending()
  })
})

describe('MQTT 5 reason codes', () => {
  test('SUBACK: granted QoS, 0x8F for an invalid filter, 0x87 when not authorized', async (t) => {
    const h = await startBroker(t, {}, { auth: { authorizeSubscribe: (_c, filter, qos) => filter === 'secret' ? false : qos } })
    const { client } = await connect5(h, { clientId: 's' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok', qos: 2 }, { topic: 'bad/#/x', qos: 0 }, { topic: 'secret', qos: 1 }, { topic: '$share/g', qos: 0 }] })
    const suback = await nextOf<mqttPacket.ISubackPacket>(client, 'suback')
    assert.deepEqual(suback.granted, [2, 0x8f, 0x87, 0x8f])
  })

  test('UNSUBACK: 0x00 for a removed subscription, 0x11 for none', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'u' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] })
    await nextOf(client, 'suback')
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a', 'b'] })
    const unsuback = await nextOf<mqttPacket.IUnsubackPacket>(client, 'unsuback')
    assert.deepEqual(unsuback.granted, [0x00, 0x11])
  })

  test('DISCONNECT 0x8E to the client whose session is taken over', async (t) => {
    const h = await startBroker(t)
    const { client: old } = await connect5(h, { clientId: 'same' })
    await connect5(h, { clientId: 'same' })
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(old, 'disconnect')).reasonCode, 0x8e)
    await old.expectClosed()
  })

  test('DISCONNECT 0x8D after a keepalive timeout', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'idle', keepalive: 1 })
    await wait(1200)
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x8d)
  })

  test('DISCONNECT 0x8B when the broker shuts down', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'bye' })
    const closing = h.broker.close()
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x8b)
    await closing
  })

  test('DISCONNECT 0x81 after a malformed packet', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'm' })
    // PUBACK whose property length runs past the packet.
    client.send(rawPacket(0x40, [0, 1, 0, 9]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x81)
  })
})

describe('MQTT 5 invalid reason codes from a client', () => {
  for (const [name, packet] of [
    ['PUBACK with reason 0x05', rawPacket(0x40, [0, 1, 0x05])],
    ['PUBREL with reason 0x10', rawPacket(0x62, [0, 1, 0x10])],
    ['AUTH with reason 0x01', rawPacket(0xf0, [0x01, 0])]
  ] as const) {
    test(`${name} is a Malformed Packet: DISCONNECT 0x81`, async (t) => {
      const h = await startBroker(t)
      const { client } = await connect5(h, { clientId: 'r' })
      client.send(packet)
      assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x81)
      await client.expectClosed()
    })
  }

  test('DISCONNECT with an unknown reason code is answered with DISCONNECT 0x81, and the will goes out', async (t) => {
    const h = await startBroker(t)
    const wills: string[] = []
    h.broker.on('willPublished', ({ clientId }) => wills.push(clientId))
    const { client } = await connect5(h, { clientId: 'r', will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false } })
    client.send(rawPacket(0xe0, [0x05]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x81)
    await client.expectClosed()
    assert.deepEqual(wills, ['r'])
  })
})

describe('administrative disconnect', () => {
  test('broker.disconnectClient: DISCONNECT 0x98 to an MQTT 5 client, its will published; false for an unknown id', async (t) => {
    const h = await startBroker(t)
    const events: string[] = []
    h.broker.on('clientDisconnected', ({ clientId, reason, willPublished }) => events.push(`${clientId}:${reason}:${String(willPublished)}`))
    const { client } = await connect5(h, { clientId: 'kicked', will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false } })
    const old = await h.client({ clientId: 'kicked-too' })
    assert.equal(h.broker.disconnectClient('kicked'), true)
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x98)
    await client.expectClosed()
    assert.equal(h.broker.disconnectClient('kicked-too'), true)
    await old.expectClosed()
    assert.equal(h.broker.disconnectClient('nobody'), false)
    assert.deepEqual(events, ['kicked:administrative:true', 'kicked-too:administrative:false'])
    assert.ok(h.log.lines.includes('Client kicked disconnected by the administrator.'))
  })
})
