// MQTT 5 CONNECT and CONNACK (MQTT 5.0, 3.1 and 3.2): properties both ways, refusals with reason
// codes and reason strings, enhanced authentication (4.12).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import type { EnhancedAuthRequest } from '../../lib'
import { startBroker } from '../helpers/broker'
import { connect5, connect5Packet, connectWithProperties, nextOf, rawPacket, utf8 } from './v5'

describe('MQTT 5 CONNACK properties', () => {
  test('an empty client id is assigned and returned as Assigned Client Identifier [MQTT-3.2.2-16]', async (t) => {
    const h = await startBroker(t, { maxTopicAlias: 10, maxInflightMessages: 20 })
    const { connack } = await connect5(h, { clientId: '' })
    const assigned = connack.properties?.assignedClientIdentifier
    assert.match(assigned ?? '', /^auto-[0-9a-f-]{36}$/)
    assert.deepEqual({ ...connack.properties, assignedClientIdentifier: 'x' }, {
      assignedClientIdentifier: 'x', topicAliasMaximum: 10, receiveMaximum: 20, maximumPacketSize: 2_000_000
    })
    assert.equal(h.broker.clients()[0]?.clientId, assigned)
  })

  test('empty client id with Clean Start 0 is accepted too (MQTT 5.0, 3.1.3.1)', async (t) => {
    const h = await startBroker(t)
    const client = await h.open(5)
    // mqtt-packet will not write this CONNECT; the literal bytes: no properties, empty id, flags 0.
    client.send(rawPacket(0x10, [...utf8('MQTT'), 5, 0x00, 0, 0, 0, 0, 0]))
    const connack = await nextOf<mqttPacket.IConnackPacket>(client, 'connack')
    assert.equal(connack.reasonCode, 0)
    assert.match(connack.properties?.assignedClientIdentifier ?? '', /^auto-/)
  })

  test('a keepalive over max_keepalive is replaced by Server Keep Alive [MQTT-3.2.2-21]', async (t) => {
    const h = await startBroker(t, { maxKeepalive: 30 })
    const { connack } = await connect5(h, { clientId: 'k', keepalive: 120 })
    assert.equal(connack.properties?.serverKeepAlive, 30)
    assert.equal(h.broker.clients()[0]?.keepaliveSec, 30)
  })

  test('retain_available false, max_packet_size and Response Information are announced', async (t) => {
    const h = await startBroker(t, { retainAvailable: false, maxPacketSize: 4096, maxTopicAlias: 0, maxInflightMessages: 0, responseInformationRoot: 'replies' })
    const { connack } = await connect5(h, { clientId: 'asker', properties: { requestResponseInformation: true } })
    assert.deepEqual(connack.properties, { retainAvailable: false, maximumPacketSize: 4096, responseInformation: 'replies/asker/' })
  })

  test('session present with Clean Start 0 and a Session Expiry Interval [MQTT-3.2.2-2]', async (t) => {
    const h = await startBroker(t)
    const first = await connect5(h, { clientId: 'keep', clean: false, properties: { sessionExpiryInterval: 60 } })
    assert.equal(first.connack.sessionPresent, false)
    await first.client.disconnect()
    const second = await connect5(h, { clientId: 'keep', clean: false, properties: { sessionExpiryInterval: 60 } })
    assert.equal(second.connack.sessionPresent, true)
    await second.client.disconnect()
    // Clean Start 1 discards it [MQTT-3.1.2-4].
    const third = await connect5(h, { clientId: 'keep', clean: true })
    assert.equal(third.connack.sessionPresent, false)
  })
})

describe('MQTT 5 CONNECT refusals', () => {
  async function refusedWith (t: Parameters<typeof startBroker>[0], packet: Buffer | mqttPacket.IConnectPacket, reasonCode: number,
    options: Parameters<typeof startBroker>[1] = {}): Promise<mqttPacket.IConnackPacket> {
    const h = await startBroker(t, options)
    const client = await h.open(5)
    client.send(packet)
    const connack = await nextOf<mqttPacket.IConnackPacket>(client, 'connack')
    assert.equal(connack.reasonCode, reasonCode)
    assert.equal(connack.sessionPresent, false)
    await client.expectClosed()
    return connack
  }

  test('a wrong password: CONNACK 0x86 with a reason string', async (t) => {
    const connack = await refusedWith(t, connect5Packet({ clientId: 'c', username: 'alice', password: 'nope' }), 0x86, { users: { alice: 'secret' } })
    assert.equal(connack.properties?.reasonString, 'bad username or password')
  })

  test('no reason string when Request Problem Information is 0 [MQTT-3.1.2-29]', async (t) => {
    const connack = await refusedWith(t, connect5Packet({ clientId: 'c', properties: { requestProblemInformation: false } }), 0x87, { allowAnonymous: false })
    assert.equal(connack.properties, undefined)
  })

  test('Receive Maximum 0 is a Protocol Error: CONNACK 0x82', async (t) => {
    await refusedWith(t, connectWithProperties([0x21, 0x00, 0x00]), 0x82)
  })

  test('Maximum Packet Size 0 is a Protocol Error: CONNACK 0x82', async (t) => {
    await refusedWith(t, connectWithProperties([0x27, 0, 0, 0, 0]), 0x82)
  })

  test('a property given twice is a Protocol Error: CONNACK 0x82 (2.2.2.2)', async (t) => {
    await refusedWith(t, connectWithProperties([0x11, 0, 0, 0, 10, 0x11, 0, 0, 0, 20]), 0x82)
  })

  test('a property not allowed in CONNECT (Topic Alias) is a Malformed Packet: CONNACK 0x81', async (t) => {
    await refusedWith(t, connectWithProperties([0x23, 0, 1]), 0x81)
  })

  test('an unknown property identifier is a Malformed Packet: CONNACK 0x81', async (t) => {
    await refusedWith(t, connectWithProperties([0x7f, 0]), 0x81)
  })

  test('an authentication method without a handler: CONNACK 0x8C [MQTT-4.12.0-1]', async (t) => {
    await refusedWith(t, connect5Packet({ clientId: 'c', properties: { authenticationMethod: 'SCRAM-SHA-1' } }), 0x8c)
  })
})

describe('MQTT 5 enhanced authentication (4.12)', () => {
  /** A challenge-response method: the server sends a nonce, the client answers it reversed. */
  function nonceAuth (steps: EnhancedAuthRequest[]) {
    return {
      enhancedAuthMethods: ['REVERSE'],
      authenticateEnhanced (request: EnhancedAuthRequest) {
        steps.push(request)
        if (request.step === 0) return Promise.resolve({ outcome: 'continue' as const, data: Buffer.from('abc') })
        return request.data?.toString() === 'cba'
          ? { outcome: 'success' as const, data: Buffer.from('welcome') }
          : { outcome: 'fail' as const, reasonCode: 0x87 }
      }
    }
  }

  test('CONNECT, AUTH 0x18 challenge, AUTH answer, CONNACK with the method and data', async (t) => {
    const steps: EnhancedAuthRequest[] = []
    const h = await startBroker(t, {}, { auth: nonceAuth(steps) })
    const client = await h.open(5)
    client.send(connect5Packet({ clientId: 'e', properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('hi') } }))
    const challenge = await nextOf<mqttPacket.IAuthPacket>(client, 'auth')
    assert.equal(challenge.reasonCode, 0x18)
    assert.deepEqual(challenge.properties, { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('abc') })
    client.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('cba') } })
    const connack = await nextOf<mqttPacket.IConnackPacket>(client, 'connack')
    assert.equal(connack.reasonCode, 0)
    assert.deepEqual(connack.properties, { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('welcome'), topicAliasMaximum: 10, receiveMaximum: 20, maximumPacketSize: 2_000_000 })
    assert.deepEqual(steps.map((s) => [s.step, s.data?.toString(), s.reauthenticate]), [[0, 'hi', false], [1, 'cba', false]])

    // Re-authentication with the same method: AUTH 0x19, challenge, answer, AUTH 0x00 [MQTT-4.12.1-1]
    client.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'REVERSE' } })
    assert.equal((await nextOf<mqttPacket.IAuthPacket>(client, 'auth')).reasonCode, 0x18)
    client.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('cba') } })
    const done = await nextOf<mqttPacket.IAuthPacket>(client, 'auth')
    assert.equal(done.reasonCode, 0)
    assert.equal(steps.at(-1)?.reauthenticate, true)
  })

  test('a wrong answer: CONNACK 0x87 and close', async (t) => {
    const h = await startBroker(t, {}, { auth: nonceAuth([]) })
    const client = await h.open(5)
    client.send(connect5Packet({ clientId: 'e', properties: { authenticationMethod: 'REVERSE' } }))
    await nextOf(client, 'auth')
    client.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'REVERSE', authenticationData: Buffer.from('nope') } })
    assert.equal((await nextOf<mqttPacket.IConnackPacket>(client, 'connack')).reasonCode, 0x87)
    await client.expectClosed()
  })

  test('a packet other than AUTH during the exchange is a Protocol Error', async (t) => {
    const h = await startBroker(t, {}, { auth: nonceAuth([]) })
    const client = await h.open(5)
    client.send(connect5Packet({ clientId: 'e', properties: { authenticationMethod: 'REVERSE' } }))
    await nextOf(client, 'auth')
    client.send({ cmd: 'pingreq' })
    assert.equal((await nextOf<mqttPacket.IConnackPacket>(client, 'connack')).reasonCode, 0x82)
    await client.expectClosed()
  })

  test('re-authentication with another method is a Protocol Error: DISCONNECT 0x82', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'plain' })
    client.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'REVERSE' } })
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x82)
    await client.expectClosed()
  })
})

describe('max_qos and max_keepalive for MQTT 5 clients', () => {
  test('Maximum QoS is announced; subscriptions are granted no higher [MQTT-3.2.2-9]', async (t) => {
    const h = await startBroker(t, { maxQos: 1 })
    const { client, connack } = await connect5(h, { clientId: 'q' })
    assert.equal(connack.properties?.maximumQoS, 1)
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 2 }] })
    assert.deepEqual((await nextOf<mqttPacket.ISubackPacket>(client, 'suback')).granted, [1])
  })

  test('a PUBLISH above Maximum QoS: DISCONNECT 0x9B [MQTT-3.2.2-11]', async (t) => {
    const h = await startBroker(t, { maxQos: 1 })
    const { client } = await connect5(h, { clientId: 'q' })
    client.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false })
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x9b)
    await client.expectClosed()
  })

  test('a will above Maximum QoS: CONNACK 0x9B [MQTT-3.2.2-12]; an MQTT 3.1.1 client gets 5', async (t) => {
    const h = await startBroker(t, { maxQos: 0 })
    const client = await h.open(5)
    client.send(connect5Packet({ clientId: 'w', will: { topic: 'w', payload: Buffer.from('x'), qos: 1, retain: false } }))
    assert.equal((await nextOf<mqttPacket.IConnackPacket>(client, 'connack')).reasonCode, 0x9b)
    const old = await h.open(4)
    old.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'w4', clean: true, keepalive: 0, will: { topic: 'w', payload: Buffer.from('x'), qos: 1, retain: false } })
    await old.expectPacket({ cmd: 'connack', returnCode: 5, sessionPresent: false })
  })

  test('with an explicit max_keepalive, keepalive 0 is given the maximum as Server Keep Alive', async (t) => {
    const h = await startBroker(t, { maxKeepalive: 300 })
    const { connack } = await connect5(h, { clientId: 'idle', keepalive: 0 })
    assert.equal(connack.properties?.serverKeepAlive, 300)
    const relaxed = await startBroker(t)
    assert.equal((await connect5(relaxed, { clientId: 'idle', keepalive: 0 })).connack.properties?.serverKeepAlive, undefined)
  })
})

describe('retain_available false and wills', () => {
  test('a retained will is refused with CONNACK 0x9A; MQTT 3.1.1 gets 5 [MQTT-3.2.2-15]', async (t) => {
    const h = await startBroker(t, { retainAvailable: false })
    const client = await h.open(5)
    client.send(connect5Packet({ clientId: 'r5', will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true } }))
    assert.equal((await nextOf<mqttPacket.IConnackPacket>(client, 'connack')).reasonCode, 0x9a)
    await client.expectClosed()
    const old = await h.open(4)
    old.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'r4', clean: true, keepalive: 0, will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true } })
    await old.expectPacket({ cmd: 'connack', returnCode: 5, sessionPresent: false })
    // A will without retain is fine.
    await connect5(h, { clientId: 'plain', will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false } })
  })
})
