// Last Will (MQTT 3.1.1, 3.1.2.5-3.1.2.7, 3.1.4): published when a connection ends without
// DISCONNECT, never after DISCONNECT, with its own QoS and retain flag.
import assert from 'node:assert/strict'
import type mqttPacket from 'mqtt-packet'
import { once } from 'node:events'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import type { Harness } from '../helpers/broker'
import { connectPacket, publishPacket, type RawClient } from '../helpers/raw-client'

const WILL = { topic: 'status/dev1', payload: 'offline', qos: 1 as const, retain: false }

async function watcher (h: Harness, qos: 0 | 1 | 2 = 2): Promise<RawClient> {
  const sub = await h.client({ clientId: 'watcher' })
  await sub.subscribe('status/#', qos)
  return sub
}

test('the will is published when the socket closes without DISCONNECT [MQTT-3.1.2-8]', async (t) => {
  const h = await startBroker(t)
  const sub = await watcher(h)
  const dev = await h.client({ clientId: 'dev1', will: WILL })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.destroy()
  const [event] = await gone
  assert.equal(event.reason, 'socketClosed')
  assert.equal(event.willPublished, true)
  // Published at the will's QoS 1 (granted 2): a fresh packet id, retain and DUP clear.
  await sub.expectPacket({ ...publishPacket('status/dev1', 'offline', 1, { messageId: 1 }) })
  sub.send({ cmd: 'puback', messageId: 1 })
  await sub.expectNothingPending()
})

test('the will is not published after DISCONNECT [MQTT-3.1.2-10] [MQTT-3.14.4-3]', async (t) => {
  const h = await startBroker(t)
  const sub = await watcher(h)
  const dev = await h.client({ clientId: 'dev1', will: WILL })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.disconnect()
  const [event] = await gone
  assert.equal(event.reason, 'disconnect')
  assert.equal(event.willPublished, false)
  await sub.expectNothingPending()
})

test('the will is published on a protocol error', async (t) => {
  const h = await startBroker(t)
  const sub = await watcher(h)
  const dev = await h.client({ clientId: 'dev1', will: { ...WILL, qos: 0 } })
  // A SUBACK only ever travels from server to client.
  dev.send({ cmd: 'suback', messageId: 1, granted: [0] })
  await dev.expectClosed()
  await sub.expectPacket(publishPacket('status/dev1', 'offline', 0))
})

test('the will is published when the keepalive expires', async (t) => {
  const h = await startBroker(t)
  const sub = await watcher(h)
  const dev = await h.client({ clientId: 'dev1', keepalive: 1, will: { ...WILL, qos: 0 } })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.expectClosed(6000)
  const [event] = await gone
  assert.equal(event.reason, 'keepaliveTimeout')
  await sub.expectPacket(publishPacket('status/dev1', 'offline', 0))
})

test('the will QoS is honoured, capped by the subscription [MQTT-3.1.2-14]', async (t) => {
  const h = await startBroker(t)
  const sub2 = await h.client({ clientId: 'w2' })
  await sub2.subscribe('status/#', 2)
  const sub0 = await h.client({ clientId: 'w0' })
  await sub0.subscribe('status/#', 0)
  const dev = await h.client({ clientId: 'dev1', will: { ...WILL, qos: 2 } })
  await dev.destroy()
  await sub2.expectPacket(publishPacket('status/dev1', 'offline', 2, { messageId: 1 }))
  await sub0.expectPacket(publishPacket('status/dev1', 'offline', 0))
  sub2.send({ cmd: 'pubrec', messageId: 1 })
  await sub2.expectPacket({ cmd: 'pubrel', messageId: 1 })
  sub2.send({ cmd: 'pubcomp', messageId: 1 })
  await sub2.expectNothingPending()
})

test('a retained will is stored: current subscribers get it with retain 0, later ones with retain 1 [MQTT-3.1.2-17]', async (t) => {
  const h = await startBroker(t)
  const sub = await watcher(h, 0)
  const dev = await h.client({ clientId: 'dev1', will: { ...WILL, qos: 0, retain: true } })
  await dev.destroy()
  await sub.expectPacket(publishPacket('status/dev1', 'offline', 0))
  const late = await h.client({ clientId: 'late' })
  await late.subscribe('status/+', 1)
  await late.expectPacket(publishPacket('status/dev1', 'offline', 0, { retain: true }))
  assert.equal(h.broker.retainedCount, 1)
})

test('an MQTT 3.1 client\'s will is published too', async (t) => {
  const h = await startBroker(t)
  const sub = await watcher(h, 0)
  const dev = await h.client({ clientId: 'dev31', protocolVersion: 3, will: { ...WILL, qos: 0 } })
  await dev.destroy()
  await sub.expectPacket(publishPacket('status/dev1', 'offline', 0))
})

test('a will the authorizePublish hook denies is not published', async (t) => {
  const h = await startBroker(t, {}, { auth: { authorizePublish: (client) => client.clientId !== 'dev1' } })
  const sub = await watcher(h)
  const dev = await h.client({ clientId: 'dev1', will: WILL })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.destroy()
  const [event] = await gone
  assert.equal(event.willPublished, false)
  await sub.expectNothingPending()
})

test('a will topic with a wildcard closes the connection without CONNACK [MQTT-3.1.2-14]', async (t) => {
  const h = await startBroker(t)
  const dev = await h.open()
  dev.send(connectPacket({ clientId: 'bad-will', will: { topic: 'status/#', payload: 'x' } }))
  await dev.expectClosed()
  assert.equal(h.broker.clientCount, 0)
})

test('a will QoS of 3 closes the connection without CONNACK [MQTT-3.1.2-14]', async (t) => {
  const h = await startBroker(t)
  const dev = await h.open()
  // flags: will QoS 3 (0x18) + will flag (0x04) + clean session (0x02); client id 'd', will 'w' / 'x'
  const body = Buffer.concat([
    Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 0x1e, 0, 0]),
    Buffer.from([0, 1]), Buffer.from('d'), Buffer.from([0, 1]), Buffer.from('w'), Buffer.from([0, 1]), Buffer.from('x')
  ])
  dev.send(Buffer.concat([Buffer.from([0x10, body.length]), body]))
  await dev.expectClosed()
  assert.equal(h.broker.clientCount, 0)
})

test('will flag 0 with will QoS or will retain set closes the connection [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]', async (t) => {
  const h = await startBroker(t)
  for (const flags of [0x0a, 0x22]) {
    const dev = await h.open()
    const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, flags, 0, 0]), Buffer.from([0, 1]), Buffer.from('d')])
    dev.send(Buffer.concat([Buffer.from([0x10, body.length]), body]))
    await dev.expectClosed()
  }
  assert.equal(h.broker.clientCount, 0)
})

test('a will to $SYS is not published: $SYS is read-only to clients', async (t) => {
  const h = await startBroker(t)
  const sys = await h.client({ clientId: 'sys' })
  await sys.subscribe('$SYS/broker/version', 0)
  // The broker's own retained version comes first.
  const version = await sys.next() as mqttPacket.IPublishPacket
  assert.match(version.payload.toString(), /^roost version /)
  const dev = await h.client({ clientId: 'dev', will: { topic: '$SYS/broker/version', payload: 'forged', retain: true } })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.destroy()
  assert.equal((await gone)[0].willPublished, false)
  await sys.expectNothingPending()
  assert.equal(h.broker.retainedCount, 0)
  const late = await h.client({ clientId: 'late' })
  await late.subscribe('$SYS/broker/version', 0)
  assert.match((await late.next() as mqttPacket.IPublishPacket).payload.toString(), /^roost version /)
  assert.ok(h.log.lines.includes("Dropped will of dev to '$SYS/broker/version': $SYS is read-only."))
})
