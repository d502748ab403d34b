// CONNECT and CONNACK (MQTT 3.1.1, 3.1 and 3.2; MQTT 3.1): the first packet, protocol name and
// level, reserved flag, client identifier rules, the connect timeout.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { connectPacket, encode } from '../helpers/raw-client'

/** A CONNECT built byte by byte, for protocol names, levels and flags mqtt-packet will not write. */
function rawConnect (name: string, level: number, flags: number, clientId: string): Buffer {
  const nameBytes = Buffer.from(name)
  const idBytes = Buffer.from(clientId)
  const body = Buffer.concat([
    Buffer.from([0, nameBytes.length]), nameBytes,
    Buffer.from([level, flags, 0, 0]),
    Buffer.from([idBytes.length >> 8, idBytes.length & 0xff]), idBytes
  ])
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

test('CONNECT is answered with CONNACK 0, session present 0 [MQTT-3.2.2-1]', async (t) => {
  const h = await startBroker(t)
  const client = await h.open()
  client.send(connectPacket({ clientId: 'c1' }))
  const { bytes } = await client.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  assert.deepEqual(bytes, Buffer.from([0x20, 0x02, 0x00, 0x00]))
  await client.expectNothingPending()
})

test('an MQTT 3.1 (MQIsdp, level 3) client is accepted', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'old-timer', protocolVersion: 3 })
  await client.expectNothingPending()
  assert.deepEqual(h.broker.clients().map((c) => [c.clientId, c.protocolVersion]), [['old-timer', 3]])
})

test('a first packet other than CONNECT closes the connection [MQTT-3.1.0-1]', async (t) => {
  const h = await startBroker(t)
  const client = await h.open()
  client.send({ cmd: 'pingreq' })
  await client.expectClosed()
  assert.equal(h.broker.clientCount, 0)
})

test('a second CONNECT closes the connection [MQTT-3.1.0-2]', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'twice' })
  client.send(connectPacket({ clientId: 'twice' }))
  await client.expectClosed()
  assert.equal(h.broker.clientCount, 0)
})

test('an unacceptable protocol level gets CONNACK 1 and a close [MQTT-3.1.2-2]', async (t) => {
  const h = await startBroker(t)
  for (const [name, level] of [['MQTT', 3], ['MQTT', 6], ['MQIsdp', 4]] as const) {
    const client = await h.open()
    client.send(rawConnect(name, level, 0x02, 'lvl'))
    const { bytes } = await client.expectPacket({ cmd: 'connack', returnCode: 1, sessionPresent: false })
    assert.deepEqual(bytes, Buffer.from([0x20, 0x02, 0x00, 0x01]), `${name} level ${level}`)
    await client.expectClosed()
  }
  assert.equal(h.broker.clientCount, 0)
})

test('an unknown protocol name closes the connection without CONNACK [MQTT-3.1.2-1]', async (t) => {
  const h = await startBroker(t)
  const client = await h.open()
  client.send(rawConnect('MQTX', 4, 0x02, 'name'))
  await client.expectClosed()
})

test('the reserved CONNECT flag set closes the connection [MQTT-3.1.2-3]', async (t) => {
  const h = await startBroker(t)
  const client = await h.open()
  client.send(rawConnect('MQTT', 4, 0x03, 'reserved'))
  await client.expectClosed()
  assert.equal(h.broker.clientCount, 0)
})

test('a password without a username closes the connection [MQTT-3.1.2-22]', async (t) => {
  const h = await startBroker(t)
  const client = await h.open()
  // flags: password (0x40) + clean session (0x02), no username flag; payload: client id, password
  const body = Buffer.concat([
    Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 0x42, 0, 0]),
    Buffer.from([0, 2]), Buffer.from('pw'), Buffer.from([0, 3]), Buffer.from('abc')
  ])
  client.send(Buffer.concat([Buffer.from([0x10, body.length]), body]))
  await client.expectClosed()
})

test('an empty client id with clean session gets an assigned id [MQTT-3.1.3-6]', async (t) => {
  const h = await startBroker(t)
  const ids: string[] = []
  h.broker.on('clientConnected', (info) => ids.push(info.clientId))
  const client = await h.client({ clientId: '', clean: true })
  await client.expectNothingPending()
  const second = await h.client({ clientId: '', clean: true })
  await second.expectNothingPending()
  assert.equal(ids.length, 2)
  assert.ok(ids.every((id) => id.length > 0), 'assigned ids are not empty')
  assert.notEqual(ids[0], ids[1], 'each client gets its own id')
  assert.equal(h.broker.clientCount, 2)
})

test('an empty client id without clean session gets CONNACK 2 [MQTT-3.1.3-8]', async (t) => {
  const h = await startBroker(t)
  const client = await h.open()
  // mqtt-packet refuses to write this CONNECT, so it is built by hand: flags 0 = clean session 0
  client.send(rawConnect('MQTT', 4, 0x00, ''))
  await client.expectPacket({ cmd: 'connack', returnCode: 2, sessionPresent: false })
  await client.expectClosed()
  assert.equal(h.broker.sessionCount, 0)
})

test('MQTT 3.1: an empty client id gets CONNACK 2, even with clean session', async (t) => {
  const h = await startBroker(t)
  const client = await h.open(3)
  client.send(rawConnect('MQIsdp', 3, 0x02, ''))
  await client.expectPacket({ cmd: 'connack', returnCode: 2, sessionPresent: false })
  await client.expectClosed()
})

test('MQTT 3.1: a client id of 23 bytes is accepted, 24 bytes gets CONNACK 2', async (t) => {
  const h = await startBroker(t)
  const ok = await h.client({ clientId: 'x'.repeat(23), protocolVersion: 3 })
  await ok.expectNothingPending()
  const tooLong = await h.open(3)
  tooLong.send(connectPacket({ clientId: 'y'.repeat(24), protocolVersion: 3 }))
  await tooLong.expectPacket({ cmd: 'connack', returnCode: 2, sessionPresent: false })
  await tooLong.expectClosed()
})

test('MQTT 3.1.1: a long client id (and any UTF-8 in it) is accepted by default', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'sensor-ü-' + 'z'.repeat(200) })
  await client.expectNothingPending()
  assert.equal(h.broker.clients()[0]?.clientId, 'sensor-ü-' + 'z'.repeat(200))
})

test('a socket that never sends CONNECT is closed after the connect timeout', async (t) => {
  const h = await startBroker(t, { connectTimeoutSec: 0.2 })
  const silent = await h.open()
  await silent.expectClosed()
  assert.ok(h.log.lines.some((line) => line.includes('no CONNECT within')), 'the close is logged')
})

test('a connected client is not closed by the connect timeout', async (t) => {
  const h = await startBroker(t, { connectTimeoutSec: 0.2 })
  const client = await h.client({ clientId: 'stays', keepalive: 0 })
  const silent = await h.open()
  await silent.expectClosed()
  // The silent socket was closed by its timeout; the connected client, opened before it, is intact.
  await client.expectNothingPending()
})

test('packets sent right behind CONNECT wait for CONNACK and are then handled in order', async (t) => {
  // The hook answers a turn of the event loop later, while the packets behind CONNECT are buffered.
  const h = await startBroker(t, {}, {
    auth: { authenticate: () => new Promise<boolean>((resolve) => setImmediate(() => resolve(true))) }
  })
  const client = await h.open()
  // One write: the three packets reach the broker together.
  client.send(Buffer.concat([
    encode(connectPacket({ clientId: 'eager' }), 4),
    encode({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'a/b', qos: 1 }] }, 4),
    encode({ cmd: 'pingreq' }, 4)
  ]))
  await client.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  await client.expectPacket({ cmd: 'suback', messageId: 7, granted: [1] })
  await client.expectPacket({ cmd: 'pingresp' })
})

test('a connection is logged the way Mosquitto logs it', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'sensor-1', keepalive: 60, username: 'alice' })
  const port = client.socket.localPort
  const old = await h.client({ clientId: 'legacy', protocolVersion: 3, clean: false })
  await old.expectNothingPending()
  assert.ok(h.log.lines.includes(`New client connected from 127.0.0.1:${port} as sensor-1 (p2, c1, k60, u'alice').`))
  assert.ok(h.log.lines.includes(`New client connected from 127.0.0.1:${old.socket.localPort} as legacy (p1, c0, k0).`))
})
