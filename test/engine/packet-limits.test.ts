// The packet limits a broker has with no configuration at all: max_packet_size 2,000,000 as in
// Mosquitto 2.1, checked from a packet's fixed header, and a bound on how long a started packet
// may go without a byte (incomplete_packet_timeout), both on real sockets.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import { DEFAULTS, resolveOptions } from '../../lib'
import { startBroker } from '../helpers/broker'
import { remainingLength } from './bad-input/raw'
import { connectPacket, encode, publishPacket } from '../helpers/raw-client'
import { connect5 } from '../mqtt5/v5'

/** A QoS 1 PUBLISH to 't' whose whole packet is exactly `totalBytes` long (MQTT 5's measure, 3.1.2.11.4). */
function publishOfTotal (totalBytes: number, messageId: number): Buffer {
  // 1 type byte, 3 or 4 length bytes, 3 bytes of topic, 2 of packet id, then the payload.
  const lengthBytes = totalBytes - 8 > 2_097_151 ? 4 : 3
  const bytes = encode(publishPacket('t', Buffer.alloc(totalBytes - 6 - lengthBytes, 0x70), 1, { messageId }), 4)
  assert.equal(bytes.length, totalBytes)
  return bytes
}

test('max_packet_size is 2,000,000 by default: a PUBLISH of exactly that is taken, one byte more is refused from its header', async (t) => {
  assert.equal(DEFAULTS.maxPacketSize, 2_000_000)
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('t', 0)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishOfTotal(2_000_000, 1))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  assert.equal((await sub.next() as mqttPacket.IPublishPacket).payload.length, 2_000_000 - 9)
  // Only the first 16 bytes of the larger one are sent: its header alone gets it refused.
  const over = await h.client({ clientId: 'over' })
  over.send(publishOfTotal(2_000_001, 2).subarray(0, 16))
  await over.expectClosed()
  assert.ok(h.log.lines.includes('Client over (127.0.0.1) sent a packet of 2000001 bytes, over the limit of 2000000; disconnecting.'), h.log.lines.join('\n'))
  await sub.expectNothingPending()
})

test('the default limit holds before CONNECT too: a CONNECT declaring 2,000,001 bytes is refused from its header', async (t) => {
  const h = await startBroker(t)
  const raw = await h.open()
  const received = h.broker.stats.bytesReceived
  // A CONNECT type byte and a 3-byte remaining length of 1,999,997: a 2,000,001-byte packet.
  raw.send(Buffer.from([0x10, ...remainingLength(1_999_997), 0x00, 0x04]))
  await raw.expectClosed()
  assert.equal(h.broker.stats.bytesReceived, received)
  assert.ok(h.log.lines.some((line) => line.endsWith('sent a packet of 2000001 bytes, over the limit of 2000000; disconnecting.')))
})

test('max_packet_size 0 is the protocol\'s limit: a 3 MB PUBLISH is taken and MQTT 5 clients are told no limit', async (t) => {
  const h = await startBroker(t, { maxPacketSize: 0 })
  const { connack } = await connect5(h, { clientId: 'v5' })
  assert.equal(connack.properties?.maximumPacketSize, undefined)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishOfTotal(3_000_000, 1))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
})

test('message_size_limit set without max_packet_size keeps its meaning: the packet limit follows it', async (t) => {
  assert.equal(resolveOptions({ messageSizeLimit: 3_000_000 }).maxPacketSize, 0)
  assert.equal(resolveOptions({ messageSizeLimit: 3_000_000, maxPacketSize: 1_000_000 }).maxPacketSize, 1_000_000)
  assert.equal(resolveOptions({}).maxPacketSize, 2_000_000)
  const h = await startBroker(t, { messageSizeLimit: 3_000_000 })
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishOfTotal(2_500_000, 1))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
})

test('a PUBLISH left unfinished by a keepalive 0 client is given up after incomplete_packet_timeout, the will published', async (t) => {
  const h = await startBroker(t, { incompletePacketTimeoutSec: 0.2 })
  const watcher = await h.client({ clientId: 'watcher' })
  await watcher.subscribe('will/#', 0)
  const half = await h.open()
  half.send(connectPacket({ clientId: 'half', keepalive: 0, will: { topic: 'will/half', payload: 'gone' } }))
  await half.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  const disconnected = new Promise<string>((resolve) => h.broker.once('clientDisconnected', (event) => { resolve(event.reason) }))
  half.send(encode(publishPacket('big', Buffer.alloc(1000, 0x68), 1, { messageId: 1 }), 4).subarray(0, 500))
  await half.expectClosed()
  assert.equal(await disconnected, 'protocolError')
  assert.ok(h.log.lines.includes('Client half (127.0.0.1) left a packet unfinished (500 of 1010 bytes) with nothing more for 0.2 s; disconnecting.'), h.log.lines.join('\n'))
  await watcher.expectPacket(publishPacket('will/half', 'gone'))
})

test('MQTT 5: a packet left unfinished gets DISCONNECT 0x81 with a reason string (MQTT 5.0, 4.13.1)', async (t) => {
  const h = await startBroker(t, { incompletePacketTimeoutSec: 0.2 })
  const { client } = await connect5(h, { clientId: 'half5', keepalive: 0 })
  client.send(Buffer.from([0x32, 0x7f, 0x00, 0x01]))
  await client.expectPacket({ cmd: 'disconnect', reasonCode: 0x81, properties: { reasonString: 'packet incomplete after 0.2 s without data' } })
  await client.expectClosed()
})
