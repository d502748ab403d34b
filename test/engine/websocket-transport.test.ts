// MQTT over WebSockets at the frame level, with a raw `ws` client: packets split across frames
// and several packets in one frame [MQTT-6.0.0-2], the subprotocol handshake [MQTT-6.0.0-3/4],
// text frames [MQTT-6.0.0-1], any path, the frame size bound, the peer address, and plain HTTP.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { connectPacket, encode, publishPacket } from '../helpers/raw-client'
import { rawClientOver, startWebSocketBroker, whenWebSocketClosed } from '../helpers/websocket'

const CONNACK_OK = encode({ cmd: 'connack', returnCode: 0, sessionPresent: false }, 4)

test('one MQTT packet split across several binary frames is read whole', async (t) => {
  const h = await startWebSocketBroker(t)
  const socket = await h.openWebSocket()
  const client = rawClientOver(socket)
  const connect = encode(connectPacket({ clientId: 'split' }), 4)
  // The first frame ends inside the fixed header's remaining length, the next inside the body.
  for (const cut of [[0, 1], [1, 2], [2, 9], [9, connect.length]]) socket.send(connect.subarray(cut[0], cut[1]), { binary: true })
  await client.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  const subscribe = encode({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'split/#', qos: 1 }] }, 4)
  for (const byte of subscribe) socket.send(Buffer.from([byte]), { binary: true })
  await client.expectPacket({ cmd: 'suback', messageId: 7, granted: [1] })
})

test('several MQTT packets in one binary frame are each handled, in order', async (t) => {
  const h = await startWebSocketBroker(t)
  const socket = await h.openWebSocket()
  const client = rawClientOver(socket)
  socket.send(Buffer.concat([
    encode(connectPacket({ clientId: 'batched' }), 4),
    encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'batch/#', qos: 1 }] }, 4),
    encode(publishPacket('batch/a', 'one', 1, { messageId: 2 }), 4),
    encode({ cmd: 'pingreq' }, 4)
  ]), { binary: true })
  await client.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  await client.expectPacket({ cmd: 'suback', messageId: 1, granted: [1] })
  // The broker's copy to the subscriber and the acknowledgement of the publish, in either order.
  const got = [await client.next(), await client.next()].map((packet) => packet.cmd).sort()
  assert.deepEqual(got, ['puback', 'publish'])
  await client.expectPacket({ cmd: 'pingresp' })
})

test('the mqtt subprotocol is chosen when offered among others; mqttv3.1 alone is accepted', async (t) => {
  const h = await startWebSocketBroker(t)
  assert.equal((await h.openWebSocket({ protocols: ['chat', 'mqttv3.1', 'mqtt'] })).protocol, 'mqtt')
  const v31 = await h.openWebSocket({ protocols: ['mqttv3.1'] })
  assert.equal(v31.protocol, 'mqttv3.1')
  const client = rawClientOver(v31, 3)
  await client.connect({ clientId: 'mqtt31', protocolVersion: 3 })
})

test('an offer of other subprotocols only is refused at the handshake with HTTP 400 saying why', async (t) => {
  const h = await startWebSocketBroker(t)
  await assert.rejects(h.openWebSocket({ protocols: ['chat'] }), { message: 'HTTP 400: Unsupported WebSocket subprotocol: MQTT is served as mqtt or mqttv3.1' })
  // Subprotocol names are case-sensitive (RFC 6455, 4.1), as in Mosquitto.
  await assert.rejects(h.openWebSocket({ protocols: ['MQTT'] }), /^Error: HTTP 400/)
  // The broker runs on.
  await (rawClientOver(await h.openWebSocket())).connect({ clientId: 'after-refusal' })
})

test('a client that offers no subprotocol is served MQTT', async (t) => {
  const h = await startWebSocketBroker(t)
  const socket = await h.openWebSocket({ protocols: [] })
  assert.equal(socket.protocol, '')
  await rawClientOver(socket).connect({ clientId: 'no-subprotocol' })
})

test('any path is served, query string and all, as Mosquitto does', async (t) => {
  const h = await startWebSocketBroker(t)
  await rawClientOver(await h.openWebSocket({ path: '/mqtt' })).connect({ clientId: 'p1' })
  await rawClientOver(await h.openWebSocket({ path: '/some/other/path?x=1' })).connect({ clientId: 'p2' })
})

test('a text frame closes the connection [MQTT-6.0.0-1], with close code 1003', async (t) => {
  const h = await startWebSocketBroker(t)
  const socket = await h.openWebSocket()
  const client = rawClientOver(socket)
  await client.connect({ clientId: 'texter' })
  const closed = whenWebSocketClosed(socket)
  socket.send('hello', { binary: false })
  assert.deepEqual(await closed, { code: 1003, reason: 'MQTT needs binary frames' })
  await client.whenClosed()
  assert.ok(h.log.lines.includes('Client texter (127.0.0.1) socket error: sent a text WebSocket frame; MQTT uses binary frames [MQTT-6.0.0-1].'), h.log.lines.join('\n'))
  assert.equal(h.broker.clientCount, 0)
})

test('a frame larger than max_packet_size is refused with close code 1009, and the broker runs on', async (t) => {
  const h = await startWebSocketBroker(t, { maxPacketSize: 100 * 1024 })
  const socket = await h.openWebSocket()
  const client = rawClientOver(socket)
  await client.connect({ clientId: 'big-frame' })
  const closed = whenWebSocketClosed(socket)
  socket.send(encode(publishPacket('big', Buffer.alloc(200 * 1024)), 4), { binary: true })
  assert.equal((await closed).code, 1009)
  await rawClientOver(await h.openWebSocket()).connect({ clientId: 'after-big-frame' })
})

test('the client address is the TCP peer\'s: X-Forwarded-For is not trusted', async (t) => {
  const h = await startWebSocketBroker(t)
  const socket = await h.openWebSocket({ headers: { 'X-Forwarded-For': '203.0.113.9' } })
  await rawClientOver(socket).connect({ clientId: 'forwarded' })
  const [info] = h.broker.clients()
  assert.equal(info?.remoteAddress, '127.0.0.1')
  assert.ok((info?.remotePort ?? 0) > 0)
})

test('a plain HTTP request gets 426 Upgrade Required, not a hang', async (t) => {
  const h = await startWebSocketBroker(t)
  const request = http.get({ host: '127.0.0.1', port: h.wsPort, path: '/' })
  const [response] = await once(request, 'response') as [http.IncomingMessage]
  response.resume()
  assert.equal(response.statusCode, 426)
  assert.equal(response.headers.upgrade, 'websocket')
})

test('an MQTT 5 DISCONNECT with a reason reaches the client before the WebSocket closes', async (t) => {
  const h = await startWebSocketBroker(t)
  const socket = await h.openWebSocket()
  const client = rawClientOver(socket, 5)
  client.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'v5-ws', clean: true, keepalive: 0 }, { protocolVersion: 5 }))
  assert.equal((await client.next()).cmd, 'connack')
  // A second CONNECT is a protocol error [MQTT-3.1.0-2]: DISCONNECT 0x82, then the close.
  client.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'v5-ws', clean: true, keepalive: 0 }, { protocolVersion: 5 }))
  const disconnect = await client.next() as mqttPacket.IDisconnectPacket
  assert.deepEqual([disconnect.cmd, disconnect.reasonCode], ['disconnect', 0x82])
  assert.equal((await whenWebSocketClosed(socket)).code, 1000)
})

test('CONNACK bytes are the same over WebSockets as over TCP', async (t) => {
  const h = await startWebSocketBroker(t)
  const socket = await h.openWebSocket()
  const frames: Buffer[] = []
  socket.on('message', (data: Buffer) => { frames.push(data) })
  socket.send(encode(connectPacket({ clientId: 'bytes' }), 4), { binary: true })
  await once(socket, 'message')
  assert.deepEqual(frames[0], CONNACK_OK)
})

test('a refused CONNECT\'s CONNACK reaches the WebSocket client before its connection closes', async (t) => {
  const h = await startWebSocketBroker(t, { allowAnonymous: false, users: { panel: 'right' } })
  const socket = await h.openWebSocket()
  const client = rawClientOver(socket)
  client.send(connectPacket({ clientId: 'refused', username: 'panel', password: 'wrong' }))
  // MQTT 3.1.1: return code 4, bad user name or password [MQTT-3.2.2-5].
  await client.expectPacket({ cmd: 'connack', returnCode: 4, sessionPresent: false })
  await client.whenClosed()
  assert.equal(h.broker.clientCount, 0)
})

test('connections that never complete their upgrade request are closed after connect_timeout; WebSocket clients stay', async (t) => {
  const h = await startWebSocketBroker(t, { connectTimeoutSec: 1 })
  const client = rawClientOver(await h.openWebSocket())
  await client.connect({ clientId: 'stays', keepalive: 0 })
  const silent = net.connect(h.wsPort, '127.0.0.1')
  const partial = net.connect(h.wsPort, '127.0.0.1')
  t.after(() => { silent.destroy(); partial.destroy() })
  partial.write('GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  await Promise.all([once(silent, 'close'), once(partial, 'close')])
  // The WebSocket client, idle all along, is still served.
  await client.expectNothingPending()
  assert.equal(h.broker.clientCount, 1)
})
