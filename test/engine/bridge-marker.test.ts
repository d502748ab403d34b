// Mosquitto's bridge marker (try_private): bit 7 of the MQTT 3.1/3.1.1 protocol level. A marked
// client is a bridge: it gets nothing back that it published itself (No Local), retained flags
// as published (Retain As Published), and it may write its own link state to
// $SYS/broker/connection/<its client id>/state, the one $SYS topic a client may write.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import type { ClientInfo } from '../../lib'
import { type Harness, startBroker } from '../helpers/broker'
import { connectPacket, encode, publishPacket, type RawClient } from '../helpers/raw-client'

/** A bridge's CONNECT: protocol level with bit 7 set, clean session, keepalive 60, as Mosquitto sends it. */
function bridgeConnect (name: 'MQTT' | 'MQIsdp', level: number, clientId: string): Buffer {
  const nameBytes = Buffer.from(name)
  const idBytes = Buffer.from(clientId)
  const body = Buffer.concat([
    Buffer.from([0, nameBytes.length]), nameBytes, Buffer.from([level, 0x02, 0, 60]),
    Buffer.from([0, idBytes.length]), idBytes
  ])
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

async function connectBridge (h: Harness, clientId: string, name: 'MQTT' | 'MQIsdp' = 'MQTT', level = 0x84): Promise<{ bridge: RawClient, info: ClientInfo }> {
  const bridge = await h.open(name === 'MQTT' ? 4 : 3)
  const connected = once(h.broker, 'clientConnected') as Promise<[ClientInfo]>
  bridge.send(bridgeConnect(name, level, clientId))
  const { bytes } = await bridge.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  assert.deepEqual(bytes, Buffer.from([0x20, 0x02, 0x00, 0x00]))
  return { bridge, info: (await connected)[0] }
}

test('levels 0x84 (MQTT 3.1.1) and 0x83 (MQTT 3.1) are accepted and mark a bridge', async (t) => {
  const h = await startBroker(t)
  const { info } = await connectBridge(h, 'br4')
  assert.deepEqual([info.protocolVersion, info.bridge], [4, true])
  assert.ok(h.log.lines.some((line) => /^New bridge connected from 127\.0\.0\.1:\d+ as br4 \(p2, c1, k60\)\.$/.test(line)), h.log.lines.join('\n'))
  const old = await connectBridge(h, 'br3', 'MQIsdp', 0x83)
  assert.deepEqual([old.info.protocolVersion, old.info.bridge], [3, true])
  // An ordinary client is not one.
  const connected = once(h.broker, 'clientConnected') as Promise<[ClientInfo]>
  await h.client({ clientId: 'plain' })
  assert.equal((await connected)[0].bridge, undefined)
})

test('level 0x85 (MQTT 5) is accepted, but marks no bridge: MQTT 5 asks for No Local itself', async (t) => {
  const h = await startBroker(t)
  const client = await h.open(5)
  const connected = once(h.broker, 'clientConnected') as Promise<[ClientInfo]>
  const body = Buffer.from([0, 4, ...Buffer.from('MQTT'), 0x85, 0x02, 0, 60, 0, 0, 2, ...Buffer.from('b5')])
  client.send(Buffer.concat([Buffer.from([0x10, body.length]), body]))
  assert.equal((await client.next()).cmd, 'connack')
  const [info] = await connected
  assert.deepEqual([info.protocolVersion, info.bridge], [5, undefined])
})

test('a bridge gets nothing back that it published; everybody else still does (No Local, as Mosquitto gives it to bridges)', async (t) => {
  const h = await startBroker(t)
  const { bridge } = await connectBridge(h, 'link')
  bridge.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }, { topic: '$share/g/shared', qos: 0 }] })
  await bridge.expectPacket({ cmd: 'suback', messageId: 1, granted: [1, 0] })
  const local = await h.client({ clientId: 'local' })
  await local.subscribe('#', 1)
  bridge.send(publishPacket('from/bridge', 'one', 1, { messageId: 10 }))
  await bridge.expectPacket({ cmd: 'puback', messageId: 10 })
  await local.expectPacket(publishPacket('from/bridge', 'one', 1, { messageId: 1 }))
  local.send({ cmd: 'puback', messageId: 1 })
  await bridge.expectNothingPending()
  // The other way, the bridge gets what others publish.
  local.send(publishPacket('from/local', 'two', 1, { messageId: 11 }))
  await bridge.expectPacket(publishPacket('from/local', 'two', 1, { messageId: 1 }))
  // An ordinary client still gets its own message: routed before it is acknowledged.
  await local.expectPacket(publishPacket('from/local', 'two', 1, { messageId: 2 }))
  await local.expectPacket({ cmd: 'puback', messageId: 11 })
})

test('a bridge gets retained flags as published, so the broker behind it keeps them too', async (t) => {
  const h = await startBroker(t)
  const { bridge } = await connectBridge(h, 'link')
  bridge.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'state/#', qos: 1 }] })
  await bridge.expectPacket({ cmd: 'suback', messageId: 1, granted: [1] })
  const plain = await h.client({ clientId: 'plain' })
  await plain.subscribe('state/#', 1)
  const device = await h.client({ clientId: 'device' })
  device.send(publishPacket('state/lamp', 'on', 1, { messageId: 1, retain: true }))
  await device.expectPacket({ cmd: 'puback', messageId: 1 })
  // [MQTT-3.3.1-9] a plain subscriber gets a live message with retain 0; the bridge with 1.
  await plain.expectPacket(publishPacket('state/lamp', 'on', 1, { messageId: 1 }))
  const { bytes } = await bridge.expectPacket(publishPacket('state/lamp', 'on', 1, { messageId: 1, retain: true }))
  assert.equal(bytes[0], 0x33)
})

test('a bridge may publish its own state notification to $SYS, retained; nothing else in $SYS', async (t) => {
  const h = await startBroker(t)
  const { bridge } = await connectBridge(h, 'link')
  bridge.send(publishPacket('$SYS/broker/connection/link/state', '1', 1, { messageId: 1, retain: true }))
  await bridge.expectPacket({ cmd: 'puback', messageId: 1 })
  // Another link's state and the broker's own tree stay closed (acknowledged, not kept: MQTT 3.1.1).
  bridge.send(publishPacket('$SYS/broker/connection/other/state', '1', 1, { messageId: 2, retain: true }))
  await bridge.expectPacket({ cmd: 'puback', messageId: 2 })
  bridge.send(publishPacket('$SYS/broker/clients/connected', '999', 1, { messageId: 3, retain: true }))
  await bridge.expectPacket({ cmd: 'puback', messageId: 3 })
  const watcher = await h.client({ clientId: 'watcher' })
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/broker/connection/#', qos: 1 }] })
  await watcher.expectPacket({ cmd: 'suback', messageId: 1, granted: [1] })
  await watcher.expectPacket(publishPacket('$SYS/broker/connection/link/state', '1', 1, { messageId: 1, retain: true }))
  await watcher.expectNothingPending()
  assert.ok(h.log.lines.includes("Dropped PUBLISH from link to '$SYS/broker/connection/other/state': $SYS is read-only."))
  assert.ok(h.log.lines.includes("Dropped PUBLISH from link to '$SYS/broker/clients/connected': $SYS is read-only."))
})

test('an ordinary client may not write a state notification, not even under its own client id', async (t) => {
  const h = await startBroker(t)
  const pretender = await h.client({ clientId: 'link' })
  pretender.send(publishPacket('$SYS/broker/connection/link/state', '1', 1, { messageId: 1, retain: true }))
  await pretender.expectPacket({ cmd: 'puback', messageId: 1 })
  const watcher = await h.client({ clientId: 'watcher' })
  await watcher.subscribe('$SYS/broker/connection/#', 1)
  await watcher.expectNothingPending()
  assert.ok(h.log.lines.includes("Dropped PUBLISH from link to '$SYS/broker/connection/link/state': $SYS is read-only."))
})

test('a bridge\'s will on its state topic is published when its link drops (the "0" Mosquitto sets)', async (t) => {
  const h = await startBroker(t)
  const bridge = await h.open(4)
  const packet = connectPacket({ clientId: 'link', keepalive: 60, will: { topic: '$SYS/broker/connection/link/state', payload: '0', qos: 1, retain: true } })
  const bytes = encode({ ...packet, bridgeMode: true } as typeof packet, 4)
  assert.equal(bytes[8], 0x84, 'protocol level with the bridge bit')
  bridge.send(bytes)
  await bridge.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  const gone = once(h.broker, 'clientDisconnected')
  await bridge.destroy()
  assert.equal((await gone)[0].willPublished, true)
  const watcher = await h.client({ clientId: 'watcher' })
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/broker/connection/+/state', qos: 1 }] })
  await watcher.expectPacket({ cmd: 'suback', messageId: 1, granted: [1] })
  await watcher.expectPacket(publishPacket('$SYS/broker/connection/link/state', '0', 1, { messageId: 1, retain: true }))
})
