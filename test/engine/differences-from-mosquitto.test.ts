// Behaviour the README's "Where Roost differs from Mosquitto" section describes and no other spec
// pins down: each test here fails if the section stops being true. (The other entries there are
// pinned where their feature is tested: CONNACK 4/0x86 in auth.test.ts and mosquitto-cli.test.ts,
// QoS 2 delivery at PUBLISH in qos.test.ts, 0x92 in mqtt5/publish.test.ts, SUBACK 0x80/0x8F in
// topics.test.ts and mqtt5/subscribe.test.ts, the MQTT 3.1 client id limit in connect.test.ts,
// PUBACK 0x00 in mqtt5/publish.test.ts, bridge state topics in bridge-marker.test.ts.)
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import type { DeliveredMessage } from '../../lib'
import { type Harness, startBroker } from '../helpers/broker'
import { publishPacket, type RawClient } from '../helpers/raw-client'
import { connect5 } from '../mqtt5/v5'

/** A Will Delay no test waits for: a will that arrives was not delayed by it. */
const HOUR_SEC = 3600

function delayedWill (topic: string): mqttPacket.IConnectPacket['will'] {
  return { topic, payload: Buffer.from('offline'), qos: 1, retain: false, properties: { willDelayInterval: HOUR_SEC } }
}

async function watcher (h: Harness): Promise<RawClient> {
  const client = await h.client({ clientId: 'presence-flow' })
  await client.subscribe('status/#', 1)
  return client
}

test('MQTT 5: a will with a Will Delay goes out at once when the session ends with the connection (Session Expiry 0)', async (t) => {
  const h = await startBroker(t)
  const presence = await watcher(h)
  // No Session Expiry Interval: the session ends at disconnect, and the will with it (3.1.3.2.2).
  const { client } = await connect5(h, { clientId: 'sensor', will: delayedWill('status/sensor') })
  await client.destroy()
  await presence.expectPacket(publishPacket('status/sensor', 'offline', 1, { messageId: 1 }))
})

test('MQTT 5: a Clean Start reconnect inside the Will Delay ends the old session and sends its will', async (t) => {
  const h = await startBroker(t)
  const presence = await watcher(h)
  const session = { sessionExpiryInterval: HOUR_SEC }
  const { client } = await connect5(h, { clientId: 'sensor', clean: false, properties: session, will: delayedWill('status/sensor') })
  await client.destroy()
  await presence.expectNothingPending()
  const again = await connect5(h, { clientId: 'sensor', clean: true, properties: session })
  assert.equal(again.connack.sessionPresent, false)
  await presence.expectPacket(publishPacket('status/sensor', 'offline', 1, { messageId: 1 }))
})

test('MQTT 3.1.1: a takeover publishes the old connection\'s will even when the session carries on', async (t) => {
  const h = await startBroker(t)
  const presence = await watcher(h)
  const first = await h.client({ clientId: 'tasmota', clean: false, will: { topic: 'status/tasmota', payload: 'offline', qos: 1 } })
  // The device comes back before the broker noticed the old link was dead.
  await h.client({ clientId: 'tasmota', clean: false }, true)
  await first.expectClosed()
  await presence.expectPacket(publishPacket('status/tasmota', 'offline', 1, { messageId: 1 }))
})

test('$SYS/broker/retained messages/count counts the clients\' retained messages, not the $SYS tree\'s own', { timeout: 15_000 }, async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 1 })
  const device = await h.client({ clientId: 'device' })
  device.send(publishPacket('status/lamp', 'on', 1, { messageId: 1, retain: true }))
  await device.expectPacket({ cmd: 'puback', messageId: 1 })
  const counts: string[] = []
  let seen: () => void = () => {}
  const one = new Promise<void>((resolve) => { seen = resolve })
  h.broker.subscribe('$SYS/broker/retained messages/count', 0, (message) => {
    counts.push(message.payload.toString())
    if (message.payload.toString() === '1') seen()
  })
  // Bounded by the test's timeout: the tree publishes a changed value every second.
  await one
  const retainedSys: DeliveredMessage[] = []
  h.broker.subscribe('$SYS/#', 0, (message) => { if (message.retain) retainedSys.push(message) })()
  assert.ok(retainedSys.length > 10, `the $SYS tree keeps ${retainedSys.length} retained topics`)
  assert.ok(counts.every((count) => count === '0' || count === '1'), counts.join(','))
})
