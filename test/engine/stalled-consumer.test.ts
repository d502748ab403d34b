// A consumer is judged by whether it drains, not by the size of one write: a client whose unsent
// bytes do not go down for its stall limit (1.5 x keepalive, at most a minute) is closed with
// DISCONNECT 0x97 on MQTT 5, even while it keeps pinging; one past the hard ceiling (the largest
// accepted packet plus 64 MiB) is closed at once. The client is a plain socket that stops reading
// and later reads everything the broker sent, to find the DISCONNECT after the whole PUBLISH.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { type TestContext, test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { type Harness, startBroker } from '../helpers/broker'
import { disconnected, subscribed } from '../clients/support'
import { connect5Packet } from '../mqtt5/v5'

const MAX_PACKET_BYTES = 64 * 1024 * 1024
const PINGREQ = Buffer.from([0xc0, 0x00])

const encode5 = (packet: mqttPacket.Packet): Buffer => mqttPacket.generate(packet, { protocolVersion: 5 })

/** An MQTT 5 client on a plain socket, subscribed to `filter`; it keeps every byte it receives. */
async function subscriber (t: TestContext, h: Harness, clientId: string, keepalive: number, filter: string): Promise<{ socket: net.Socket, chunks: Buffer[] }> {
  const socket = net.connect(h.port, '127.0.0.1')
  t.after(() => { socket.destroy() })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  socket.on('error', () => {})
  const subscribing = subscribed(h.broker, clientId)
  socket.write(encode5(connect5Packet({ clientId, keepalive })))
  socket.write(encode5({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] }))
  await subscribing
  return { socket, chunks }
}

/** Type and whole length of each packet in a byte stream, walking the remaining lengths. */
function packets (stream: Buffer): Array<{ type: number, bytes: number, at: number }> {
  const found: Array<{ type: number, bytes: number, at: number }> = []
  let at = 0
  while (at < stream.length) {
    let length = 0
    let multiplier = 1
    let position = at + 1
    for (;;) {
      const byte = stream[position++] as number
      length += (byte & 0x7f) * multiplier
      multiplier *= 128
      if ((byte & 0x80) === 0) break
    }
    const bytes = position - at + length
    found.push({ type: (stream[at] as number) >> 4, bytes, at })
    at += bytes
  }
  return found
}

test('a client that pings but does not read is closed when its bytes stop going down, with DISCONNECT 0x97 after the whole PUBLISH', { timeout: 30_000 }, async (t) => {
  const h = await startBroker(t, { maxPacketSize: MAX_PACKET_BYTES })
  // Keepalive 2: the stall limit is 3 s. The pings keep the keepalive from ever running out.
  const { socket, chunks } = await subscriber(t, h, 'pinging', 2, 'big/#')
  socket.pause()
  const pinger = setInterval(() => socket.write(PINGREQ), 500)
  t.after(() => { clearInterval(pinger) })
  const reason = disconnected(h.broker, 'pinging')
  const closed = once(socket, 'close')
  // Large enough to fill every kernel buffer on the way, so the broker holds the rest.
  const payload = Buffer.alloc(20 * 1024 * 1024, 0x5a)
  h.broker.publish({ topic: 'big/one', payload, qos: 1 })

  assert.equal(await reason, 'slowConsumer')
  clearInterval(pinger)
  assert.ok(h.log.lines.some((line) => /^Client pinging \(127\.0\.0\.1\) is not reading: \d+ bytes unsent, none sent for \d+ s; disconnecting\.$/.test(line)),
    h.log.lines.join('\n'))
  // Read again: the PUBLISH arrives whole, and the last packet is the reason.
  socket.resume()
  await closed
  const stream = Buffer.concat(chunks)
  const found = packets(stream)
  const publishes = found.filter((packet) => packet.type === 3)
  assert.equal(publishes.length, 1)
  assert.ok((publishes[0]?.bytes ?? 0) > payload.length)
  const last = found[found.length - 1]
  assert.deepEqual(stream.subarray(last?.at), encode5({ cmd: 'disconnect', reasonCode: 0x97 }))
})

test('a client past the hard ceiling is closed at once, on its own tick, and the broker runs on', { timeout: 30_000 }, async (t) => {
  // Ceiling: 1 MiB (the largest accepted packet) + 64 MiB. Keepalive 0 would give a minute's grace.
  const h = await startBroker(t, { maxPacketSize: 1024 * 1024, maxInflightMessages: 0 })
  const { socket } = await subscriber(t, h, 'hoarder', 0, 'many/#')
  socket.pause()
  const reason = disconnected(h.broker, 'hoarder')
  const payload = Buffer.alloc(900 * 1024, 0x41)
  // All in one tick: the close comes after, never inside a publish.
  for (let i = 0; i < 100; i++) h.broker.publish({ topic: `many/${i}`, payload, qos: 1 })
  assert.equal(await reason, 'slowConsumer')
  assert.ok(h.log.lines.some((line) => /^Client hoarder \(127\.0\.0\.1\) is not reading: \d+ bytes unsent, over the limit of 68157440; disconnecting\.$/.test(line)),
    h.log.lines.join('\n'))

  const after = await h.client({ clientId: 'after' })
  await after.subscribe('many/#', 1)
  h.broker.publish({ topic: 'many/after', payload: 'small', qos: 1 })
  const received = await after.next() as mqttPacket.IPublishPacket
  assert.deepEqual([received.cmd, received.topic, received.payload.toString()], ['publish', 'many/after', 'small'])
})
