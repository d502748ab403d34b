// The client engine against a scripted server: packet-exact checks of re-sends, duplicates,
// aliases, flow control, keepalive and refusals.
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { ClientError, type ClientOptionsInput, createClient, type DeliveredMessage, type MqttClient } from '../../lib'
import { collect, next } from './helpers'
import { ScriptedServer } from './scripted-server'

type Received = DeliveredMessage & { dup: boolean }

describe('client engine against a scripted server', () => {
  let server: ScriptedServer
  let clients: MqttClient[] = []

  function client (options: Partial<ClientOptionsInput> = {}): MqttClient {
    const made = createClient({ host: '127.0.0.1', port: server.port, reconnectPeriodMs: 20, ...options })
    made.on('error', () => {})
    clients.push(made)
    return made
  }

  // A server per test: a client left reconnecting cannot hand its connection to the next test.
  beforeEach(async () => { server = await new ScriptedServer().listen() })
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.end(true)))
    clients = []
    await server.close()
  })

  it('sends CONNECT as configured and DISCONNECT on end() [MQTT-3.14.4-1]', async () => {
    const c = client({ clientId: 'scripted-1', keepaliveSec: 30, username: 'u', password: 'p', cleanSession: false, will: { topic: 'w', payload: 'bye', qos: 1, retain: true } }).connect()
    const peer = await server.connection()
    const connect = await peer.accept()
    assert.deepEqual({ ...connect, length: 0 }, {
      cmd: 'connect', retain: false, qos: 0, dup: false, length: 0, topic: null, payload: null,
      protocolId: 'MQTT', protocolVersion: 4, clean: false, keepalive: 30, clientId: 'scripted-1',
      will: { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true },
      username: 'u', password: Buffer.from('p')
    })
    await next(c, 'connect')
    const ended = c.end()
    assert.equal((await peer.expect('disconnect')).cmd, 'disconnect')
    await ended
    await peer.closedByClient()
  })

  it('re-sends an unacknowledged QoS 1 PUBLISH with DUP and its packet id when the session is present [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async () => {
    const c = client({ clientId: 'dup-1', cleanSession: false }).connect()
    let peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    const done = c.publish({ topic: 'd/1', payload: 'once', qos: 1 })
    const first = await peer.expect('publish')
    assert.deepEqual([first.topic, first.qos, first.dup, first.messageId, first.payload], ['d/1', 1, false, 1, Buffer.from('once')])
    peer.socket.destroy()
    peer = await server.connection()
    await peer.accept(true)
    const again = await peer.expect('publish')
    assert.deepEqual([again.topic, again.qos, again.dup, again.messageId, again.payload], ['d/1', 1, true, 1, Buffer.from('once')])
    peer.send({ cmd: 'puback', messageId: 1 })
    await done
    assert.equal(c.inflightCount, 0)
  })

  it('re-sends PUBREL for a released QoS 2 message after reconnecting; PUBCOMP completes it [MQTT-4.3.3-1]', async () => {
    const c = client({ clientId: 'rel-1', cleanSession: false }).connect()
    let peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    const done = c.publish({ topic: 'q2', payload: 'x', qos: 2 })
    const publish = await peer.expect('publish')
    peer.send({ cmd: 'pubrec', messageId: publish.messageId as number })
    assert.equal((await peer.expect('pubrel')).messageId, publish.messageId)
    peer.socket.destroy()
    peer = await server.connection()
    await peer.accept(true)
    assert.equal((await peer.expect('pubrel')).messageId, publish.messageId)
    peer.send({ cmd: 'pubcomp', messageId: publish.messageId as number })
    await done
  })

  it('sends unacknowledged messages again as new ones when the server lost the session', async () => {
    const c = client({ clientId: 'lost-1', cleanSession: false }).connect()
    let peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    const done = c.publish({ topic: 'l/1', payload: 'again', qos: 1 })
    await peer.expect('publish')
    peer.socket.destroy()
    peer = await server.connection()
    await peer.accept(false)
    const again = await peer.expect('publish')
    assert.deepEqual([again.topic, again.dup, again.payload], ['l/1', false, Buffer.from('again')])
    peer.send({ cmd: 'puback', messageId: again.messageId as number })
    await done
  })

  it('delivers an inbound QoS 2 message once though the server sends it twice [MQTT-4.3.3-2]', async () => {
    const c = client().connect()
    const peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    const messages: Received[] = []
    c.on('message', (m) => messages.push(m))
    peer.send({ cmd: 'publish', topic: 'in/2', payload: Buffer.from('a'), qos: 2, dup: false, retain: false, messageId: 7 })
    assert.equal((await peer.expect('pubrec')).messageId, 7)
    peer.send({ cmd: 'publish', topic: 'in/2', payload: Buffer.from('a'), qos: 2, dup: true, retain: false, messageId: 7 })
    assert.equal((await peer.expect('pubrec')).messageId, 7)
    peer.send({ cmd: 'pubrel', messageId: 7 })
    assert.equal((await peer.expect('pubcomp')).messageId, 7)
    // After PUBREL the id is free again: the same id now carries a new message.
    peer.send({ cmd: 'publish', topic: 'in/2', payload: Buffer.from('b'), qos: 2, dup: false, retain: false, messageId: 7 })
    assert.equal((await peer.expect('pubrec')).messageId, 7)
    peer.send({ cmd: 'publish', topic: 'in/1', payload: Buffer.from('c'), qos: 1, dup: false, retain: true, messageId: 8 })
    assert.equal((await peer.expect('puback')).messageId, 8)
    assert.deepEqual(messages, [
      { topic: 'in/2', payload: Buffer.from('a'), qos: 2, retain: false, dup: false },
      { topic: 'in/2', payload: Buffer.from('b'), qos: 2, retain: false, dup: false },
      { topic: 'in/1', payload: Buffer.from('c'), qos: 1, retain: true, dup: false }
    ])
  })

  it('resolves inbound topic aliases and ends the connection with 0x94 on one over its maximum [MQTT-3.3.2-10]', async () => {
    const c = client({ protocolVersion: 5, properties: { topicAliasMaximum: 4 } }).connect()
    const peer = await server.connection()
    const connect = await peer.accept()
    assert.deepEqual(connect.properties, { topicAliasMaximum: 4 })
    await next(c, 'connect')
    const arriving = collect<Received>(c, 'message', 2)
    peer.send({ cmd: 'publish', topic: 'alias/long/topic', payload: Buffer.from('1'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3, contentType: 'text/plain' } })
    peer.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3 } })
    assert.deepEqual(await arriving, [
      { topic: 'alias/long/topic', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { contentType: 'text/plain' } },
      { topic: 'alias/long/topic', payload: Buffer.from('2'), qos: 0, retain: false, dup: false }
    ])
    const failed = next<[ClientError]>(c, 'error')
    peer.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('3'), qos: 0, dup: false, retain: false, properties: { topicAlias: 5 } })
    assert.equal((await peer.expect('disconnect')).reasonCode, 0x94)
    await peer.closedByClient()
    assert.deepEqual([(await failed)[0].code, (await failed)[0].reasonCode], ['PROTOCOL_ERROR', 0x94])
    await c.end()
  })

  it('keeps to the server receive maximum and resumes as acknowledgements arrive [MQTT-3.3.4-7]', async () => {
    const c = client({ protocolVersion: 5 }).connect()
    const peer = await server.connection()
    await peer.accept(false, { receiveMaximum: 2 })
    await next(c, 'connect')
    const done = [1, 2, 3, 4].map((n) => c.publish({ topic: `w/${n}`, payload: String(n), qos: 1 }))
    assert.deepEqual([c.inflightCount, c.queuedCount], [2, 2])
    const first = await peer.expect('publish')
    const second = await peer.expect('publish')
    assert.deepEqual([first.topic, second.topic], ['w/1', 'w/2'])
    peer.send({ cmd: 'puback', messageId: first.messageId as number, reasonCode: 0 })
    assert.equal((await peer.expect('publish')).topic, 'w/3')
    assert.deepEqual([c.inflightCount, c.queuedCount], [2, 1])
    await done[0]
    await c.end(true)
    for (const pending of done.slice(1)) await assert.rejects(pending, (error: ClientError) => error.code === 'CLOSED')
  })

  it('rejects a message the server refuses with a reason code, and what CONNACK says it does not allow', async () => {
    const c = client({ protocolVersion: 5 }).connect()
    const peer = await server.connection()
    await peer.accept(false, { maximumQoS: 1, retainAvailable: false, maximumPacketSize: 100 })
    await next(c, 'connect')
    const refused = c.publish({ topic: 'no', payload: 'x', qos: 1 })
    const publish = await peer.expect('publish')
    peer.send({ cmd: 'puback', messageId: publish.messageId as number, reasonCode: 0x87 })
    await assert.rejects(refused, (error: ClientError) => error.code === 'REFUSED' && error.reasonCode === 0x87)
    // [MQTT-3.2.2-11] [MQTT-3.2.2-14] [MQTT-3.1.2-24]
    await assert.rejects(c.publish({ topic: 'q', qos: 2 }), (error: ClientError) => error.code === 'NOT_SUPPORTED' && error.reasonCode === 0x9b)
    await assert.rejects(c.publish({ topic: 'r', retain: true }), (error: ClientError) => error.code === 'NOT_SUPPORTED' && error.reasonCode === 0x9a)
    await assert.rejects(c.publish({ topic: 'big', payload: Buffer.alloc(100) }), (error: ClientError) => error.code === 'PACKET_TOO_LARGE')
    assert.equal(peer.pending, 0)
  })

  it('gives repeated topics an alias when the server allows them [MQTT-3.3.2-12]', async () => {
    const c = client({ protocolVersion: 5, useTopicAliases: true }).connect()
    const peer = await server.connection()
    await peer.accept(false, { topicAliasMaximum: 1 })
    await next(c, 'connect')
    await c.publish({ topic: 'a/long/topic', payload: '1' })
    await c.publish({ topic: 'a/long/topic', payload: '2', properties: { contentType: 'text/plain' } })
    await c.publish({ topic: 'other', payload: '3' })
    const packets = [await peer.expect('publish'), await peer.expect('publish'), await peer.expect('publish')]
    assert.deepEqual(packets.map((p) => [p.topic, p.payload.toString(), p.properties]), [
      ['a/long/topic', '1', { topicAlias: 1 }],
      ['', '2', { topicAlias: 1, contentType: 'text/plain' }],
      // Only one alias is allowed and it is taken: the whole topic goes.
      ['other', '3', undefined]
    ])
  })

  it('an alias whose first packet would be too large is not used later without its topic [MQTT-3.3.2-12]', async () => {
    const c = client({ protocolVersion: 5, useTopicAliases: true }).connect()
    const peer = await server.connection()
    // A plain PUBLISH of 'a/t' with payload 'x' and no properties is 9 bytes; with a new alias
    // (topic + property) it is 12. The server takes at most 10, so the plain packet goes.
    await peer.accept(false, { topicAliasMaximum: 5, maximumPacketSize: 10 })
    await next(c, 'connect')
    await c.publish({ topic: 'a/t', payload: 'x' })
    await c.publish({ topic: 'a/t', payload: 'y' })
    const packets = [await peer.expect('publish'), await peer.expect('publish')]
    assert.deepEqual(packets.map((p) => [p.topic, p.payload.toString(), p.properties]), [['a/t', 'x', undefined], ['a/t', 'y', undefined]])
  })

  it('sends PINGREQ when idle and treats a missing PINGRESP as a dead connection', async () => {
    const c = client({ keepaliveSec: 1, pingTimeoutMs: 100 }).connect()
    let peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    await peer.expect('pingreq')
    peer.send({ cmd: 'pingresp' })
    await peer.expect('pingreq')
    const failed = next<[ClientError]>(c, 'error')
    const offline = next(c, 'offline')
    // No PINGRESP this time.
    assert.equal((await failed)[0].code, 'PING_TIMEOUT')
    await offline
    await peer.closedByClient()
    peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
  })

  it('makes its subscriptions again only when the server has no session [MQTT-3.2.2-2]', async () => {
    const c = client({ clientId: 'resub-1', cleanSession: false }).connect()
    let peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    const granted = c.subscribe([{ filter: 'a/+', qos: 1 }, { filter: 'b/#', qos: 2 }])
    const subscribe = await peer.expect('subscribe')
    assert.deepEqual(subscribe.subscriptions, [{ topic: 'a/+', qos: 1 }, { topic: 'b/#', qos: 2 }])
    peer.send({ cmd: 'suback', messageId: subscribe.messageId as number, granted: [1, 0x80] })
    assert.deepEqual(await granted, [1, 0x80])
    assert.deepEqual(c.subscriptions, ['a/+'])
    peer.socket.destroy()
    peer = await server.connection()
    await peer.accept(true)
    await next(c, 'connect')
    await c.publish({ topic: 'marker', payload: 'session present: no resubscribe' })
    assert.equal((await peer.expect('publish')).topic, 'marker')
    peer.socket.destroy()
    peer = await server.connection()
    await peer.accept(false)
    const again = await peer.expect('subscribe')
    assert.deepEqual(again.subscriptions, [{ topic: 'a/+', qos: 1 }])
    peer.send({ cmd: 'suback', messageId: again.messageId as number, granted: [1] })
  })

  it('reports a refused CONNACK and retries with a doubling delay up to the maximum', async () => {
    const c = client({ reconnectPeriodMs: 20, reconnectMaxMs: 50 })
    const errors: ClientError[] = []
    c.on('error', (error) => errors.push(error as ClientError))
    const delays = collect<{ attempt: number, delayMs: number }>(c, 'reconnecting', 3)
    c.connect()
    for (let i = 0; i < 3; i++) {
      const peer = await server.connection()
      await peer.expect('connect')
      peer.send({ cmd: 'connack', sessionPresent: false, returnCode: 5 })
    }
    assert.deepEqual(await delays, [{ attempt: 1, delayMs: 20 }, { attempt: 2, delayMs: 40 }, { attempt: 3, delayMs: 50 }])
    assert.deepEqual(errors.map((e) => [e.code, e.reasonCode, e.message]), Array(3).fill(['REFUSED', 5, 'connection refused: not authorized']))
    await c.end()
  })

  it('answers a SUBACK nobody asked for with DISCONNECT 0x82, and reports a server DISCONNECT (MQTT 5)', async () => {
    const c = client({ protocolVersion: 5, reconnectPeriodMs: 0 }).connect()
    let peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    const ended = next(c, 'end')
    peer.send({ cmd: 'suback', messageId: 99, granted: [0] })
    assert.equal((await peer.expect('disconnect')).reasonCode, 0x82)
    // Reconnecting is off: a lost connection ends the client.
    await ended
    assert.equal(c.state, 'closed')

    const d = client({ protocolVersion: 5 }).connect()
    peer = await server.connection()
    await peer.accept()
    await next(d, 'connect')
    const disconnected = next<[{ reasonCode: number, properties?: Record<string, unknown> }]>(d, 'disconnect')
    const reconnecting = next(d, 'reconnecting')
    peer.send({ cmd: 'disconnect', reasonCode: 0x8b, properties: { reasonString: 'going down' } })
    assert.deepEqual((await disconnected)[0], { reasonCode: 0x8b, properties: { reasonString: 'going down' } })
    await reconnecting
    await peer.closedByClient()
  })

  it('gives up on a server that sends no CONNACK within connectTimeoutMs, and tries again', async () => {
    const c = client({ connectTimeoutMs: 100 })
    const failed = next<[ClientError]>(c, 'error')
    const reconnecting = next(c, 'reconnecting')
    c.connect()
    const silent = await server.connection()
    await silent.expect('connect')
    assert.equal((await failed)[0].code, 'CONNECT_TIMEOUT')
    await reconnecting
    await silent.closedByClient()
    const peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
  })

  it('ends with an MQTT 5 DISCONNECT carrying the reason code and properties given', async () => {
    const c = client({ protocolVersion: 5, cleanSession: false, properties: { sessionExpiryInterval: 600 } }).connect()
    const peer = await server.connection()
    const connect = await peer.accept()
    assert.deepEqual([connect.clean, connect.properties], [false, { sessionExpiryInterval: 600 }])
    await next(c, 'connect')
    const ended = c.end(false, { reasonCode: 0x04, properties: { sessionExpiryInterval: 0, reasonString: 'bye' } })
    const disconnect = await peer.expect('disconnect')
    assert.deepEqual([disconnect.reasonCode, disconnect.properties], [0x04, { sessionExpiryInterval: 0, reasonString: 'bye' }])
    await ended
  })

  it('keeps the connection when a message listener throws, and reports the throw', async () => {
    const c = client().connect()
    const peer = await server.connection()
    await peer.accept()
    await next(c, 'connect')
    c.once('message', () => { throw new Error('listener bug') })
    const reported = next<[Error]>(c, 'error')
    peer.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 3 })
    assert.equal((await reported)[0].message, 'listener bug')
    assert.equal((await peer.expect('puback')).messageId, 3)
    assert.equal(c.connected, true)
  })
})
