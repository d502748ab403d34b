// How WebSocket clients end: a TCP half-close without a close frame, a close frame without a TCP
// close, a peer that goes silent (keepalive), and a subscriber that stops reading, which is
// closed as a stalled consumer just as it is over TCP. The client's TCP socket is made by the test
// (ws's createConnection), so the test can half-close it or stop reading from it.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { type TestContext, test } from 'node:test'
import WebSocket from 'ws'
import mqttPacket from 'mqtt-packet'
import { disconnected, subscribed } from '../clients/support'
import { connectPacket, encode } from '../helpers/raw-client'
import { rawClientOver, startWebSocketBroker, type WebSocketHarness } from '../helpers/websocket'

/** A WebSocket over a TCP socket the test holds; resolves once the handshake is done. */
async function openOwned (t: TestContext, h: WebSocketHarness): Promise<{ socket: WebSocket, tcp: net.Socket }> {
  let tcp: net.Socket | undefined
  const socket = new WebSocket(`ws://127.0.0.1:${h.wsPort}/`, ['mqtt'], {
    createConnection: (options: object) => (tcp = net.connect(options as net.NetConnectOpts))
  })
  t.after(() => { socket.terminate() })
  await once(socket, 'open')
  if (tcp === undefined) throw new Error('ws did not use createConnection')
  return { socket, tcp }
}

async function connectWithWill (socket: WebSocket, clientId: string, keepalive = 0): Promise<void> {
  const client = rawClientOver(socket)
  await client.connect({ clientId, keepalive, will: { topic: `will/${clientId}`, payload: 'gone' } })
}

/**
 * A client with a will, ended by `end` (which must not send DISCONNECT): the broker closes it as a
 * socket that went away, and a TCP watcher gets the will.
 */
async function endsWithWill (t: TestContext, clientId: string, end: (socket: WebSocket, tcp: net.Socket) => void): Promise<void> {
  const h = await startWebSocketBroker(t)
  const watcher = await h.client({ clientId: 'watcher' })
  await watcher.subscribe('will/#', 0)
  const { socket, tcp } = await openOwned(t, h)
  await connectWithWill(socket, clientId)
  const reason = disconnected(h.broker, clientId)
  end(socket, tcp)
  assert.equal(await reason, 'socketClosed')
  const will = await watcher.next() as mqttPacket.IPublishPacket
  assert.deepEqual([will.topic, will.payload.toString()], [`will/${clientId}`, 'gone'])
  if (!tcp.destroyed) await once(tcp.resume(), 'close')
}

test('a client that half-closes its TCP connection without a close frame is closed, and its will is published', async (t) => {
  await endsWithWill(t, 'half-open', (_socket, tcp) => { tcp.end() })
})

test('a client that sends a close frame but keeps its TCP connection open is closed, and its will is published', async (t) => {
  await endsWithWill(t, 'close-frame-only', (socket, tcp) => {
    // Our TCP stays open: after the close frame, the client neither reads nor closes.
    socket.close(1000)
    tcp.pause()
  })
})

test('a client that goes silent is closed by keepalive, its TCP connection with it', async (t) => {
  const h = await startWebSocketBroker(t)
  const { socket, tcp } = await openOwned(t, h)
  await connectWithWill(socket, 'silent', 1)
  const reason = disconnected(h.broker, 'silent')
  // Nothing more is sent, and nothing read: not even the closing handshake can complete.
  tcp.pause()
  assert.equal(await reason, 'keepaliveTimeout')
  await once(tcp.resume(), 'close')
})

test('a WebSocket subscriber that pings but does not read is closed as a stalled consumer, as over TCP', { timeout: 60_000 }, async (t) => {
  const h = await startWebSocketBroker(t, { maxPacketSize: 64 * 1024 * 1024 })
  const { socket, tcp } = await openOwned(t, h)
  const subscribing = subscribed(h.broker, 'stalled')
  socket.send(Buffer.concat([
    encode(connectPacket({ clientId: 'stalled', keepalive: 2 }), 4),
    encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big/#', qos: 1 }] }, 4)
  ]))
  await subscribing
  tcp.pause()
  // Keepalive 2 gives a 3 s stall limit; the pings keep keepalive itself from running out.
  const pinger = setInterval(() => { socket.send(encode({ cmd: 'pingreq' }, 4)) }, 500)
  t.after(() => { clearInterval(pinger) })
  const reason = disconnected(h.broker, 'stalled')
  h.broker.publish({ topic: 'big/one', payload: Buffer.alloc(20 * 1024 * 1024, 0x5a), qos: 1 })
  assert.equal(await reason, 'slowConsumer')
  clearInterval(pinger)
  assert.ok(h.log.lines.some((line) => /^Client stalled \(127\.0\.0\.1\) is not reading: \d+ bytes unsent, none sent for \d+ s; disconnecting\.$/.test(line)),
    h.log.lines.join('\n'))
  // The broker serves others meanwhile.
  const after = await h.client({ clientId: 'after' })
  await after.subscribe('big/#', 1)
  h.broker.publish({ topic: 'big/small', payload: 'small', qos: 1 })
  assert.equal((await after.next() as mqttPacket.IPublishPacket).payload.toString(), 'small')
})
