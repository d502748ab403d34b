// Keepalive (MQTT 3.1.1, 3.1.2.10, 3.12, 3.13): PINGREQ/PINGRESP, and the close after one and a
// half keepalive periods without a packet. These specs assert that the close happens, not when.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'

test('PINGREQ is answered with PINGRESP [MQTT-3.12.4-1]', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'pinger', keepalive: 60 })
  client.send({ cmd: 'pingreq' })
  const { bytes } = await client.expectPacket({ cmd: 'pingresp' })
  assert.deepEqual(bytes, Buffer.from([0xd0, 0x00]))
})

test('a client silent past 1.5 x keepalive is disconnected [MQTT-3.1.2-24]', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'sleepy', keepalive: 1 })
  const gone = once(h.broker, 'clientDisconnected')
  await client.expectClosed(6000)
  const [event] = await gone
  assert.equal(event.clientId, 'sleepy')
  assert.equal(event.reason, 'keepaliveTimeout')
  assert.ok(h.log.lines.includes('Client sleepy (127.0.0.1) has exceeded timeout, disconnecting.'), 'the timeout is logged')
})

test('a client that keeps pinging stays connected; keepalive 0 is never timed out', async (t) => {
  const h = await startBroker(t)
  const pinger = await h.client({ clientId: 'pinger', keepalive: 1 })
  const forever = await h.client({ clientId: 'forever', keepalive: 0 })
  const sleepy = await h.client({ clientId: 'sleepy', keepalive: 1 })
  // Ping until the silent keepalive-1 client has been dropped: by then the pinging one has lived
  // through more than one timeout period. Bounded: the silent one must go within the loop.
  for (let round = 0; round < 40 && !sleepy.closed; round++) {
    pinger.send({ cmd: 'pingreq' })
    await pinger.expectPacket({ cmd: 'pingresp' })
    await sleep(250)
  }
  assert.ok(sleepy.closed, 'the silent keepalive-1 client was disconnected')
  await pinger.expectNothingPending()
  await forever.expectNothingPending()
  assert.deepEqual(h.broker.clients().map((c) => c.clientId).sort(), ['forever', 'pinger'])
})

test('any packet, not only PINGREQ, counts as activity', async (t) => {
  const h = await startBroker(t)
  const busy = await h.client({ clientId: 'busy', keepalive: 1 })
  const sleepy = await h.client({ clientId: 'sleepy', keepalive: 1 })
  for (let round = 0; round < 40 && !sleepy.closed; round++) {
    busy.send({ cmd: 'publish', topic: 'noise', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: round + 1 })
    await busy.expectPacket({ cmd: 'puback', messageId: round + 1 })
    await sleep(250)
  }
  assert.ok(sleepy.closed, 'the silent client was disconnected')
  assert.equal(busy.closed, false)
})

test('MQTT 3.1.1: a keepalive over max_keepalive gets CONNACK 2', async (t) => {
  const h = await startBroker(t, { maxKeepalive: 60 })
  const ok = await h.client({ clientId: 'ok', keepalive: 60 })
  await ok.expectNothingPending()
  const tooLong = await h.open()
  tooLong.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'long', clean: true, keepalive: 61 })
  await tooLong.expectPacket({ cmd: 'connack', returnCode: 2, sessionPresent: false })
  await tooLong.expectClosed()
})
