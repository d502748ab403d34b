// MQTT.js over ws:// to a `protocol websockets` listener, next to a TCP listener of the same
// broker: messages cross between the two at every QoS, on MQTT 3.1.1 and 5; retained messages,
// wills, and a 5 MB message arrive whole.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, afterEach, before, describe, test } from 'node:test'
import type { IClientOptions } from 'mqtt'
import { createBroker, type Broker } from '../../lib'
import { ClientPool, disconnected, subscribed } from './support'

const LARGE_BYTES = 5 * 1024 * 1024
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

describe('MQTT.js over WebSockets', { timeout: 60_000 }, () => {
  let broker: Broker
  let tcpPort: number
  let wsPort: number
  const pool = new ClientPool()
  const overWs = (options: IClientOptions): IClientOptions => ({ protocol: 'ws', path: '/mqtt', ...options })

  before(async () => {
    broker = createBroker({
      sysIntervalSec: 0,
      maxPacketSize: 16 * 1024 * 1024,
      listeners: [{ port: 0, host: '127.0.0.1' }, { port: 0, host: '127.0.0.1', protocol: 'websockets' }]
    })
    const [tcp, ws] = await broker.listen()
    if (tcp === undefined || ws === undefined) throw new Error('the broker bound fewer listeners than asked')
    tcpPort = tcp.port
    wsPort = ws.port
  })
  afterEach(async () => { await pool.endAll() })
  after(async () => { await broker.close() })

  for (const protocolVersion of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}, QoS ${qos}: WebSocket to TCP and TCP to WebSocket`, async () => {
        const wsClient = await pool.connect(wsPort, overWs({ clientId: `ws-${protocolVersion}-${qos}`, protocolVersion }))
        const tcpClient = await pool.connect(tcpPort, { clientId: `tcp-${protocolVersion}-${qos}`, protocolVersion })
        await wsClient.client.subscribeAsync('to-ws/#', { qos })
        await tcpClient.client.subscribeAsync('to-tcp/#', { qos })
        await wsClient.client.publishAsync('to-tcp/a', 'from ws', { qos })
        await tcpClient.client.publishAsync('to-ws/a', 'from tcp', { qos })
        const [atTcp] = await tcpClient.inbox.waitFor(1)
        const [atWs] = await wsClient.inbox.waitFor(1)
        assert.deepEqual([atTcp?.topic, atTcp?.payload.toString(), atTcp?.qos], ['to-tcp/a', 'from ws', qos])
        assert.deepEqual([atWs?.topic, atWs?.payload.toString(), atWs?.qos], ['to-ws/a', 'from tcp', qos])
      })
    }
  }

  test('a retained message set over WebSockets reaches a later WebSocket subscriber, flagged retained', async () => {
    const publisher = await pool.connect(wsPort, overWs({ clientId: 'ws-retainer' }))
    await publisher.client.publishAsync('retained/ws', 'kept', { qos: 1, retain: true })
    const reader = await pool.connect(wsPort, overWs({ clientId: 'ws-late' }))
    await reader.client.subscribeAsync('retained/#', { qos: 1 })
    const [message] = await reader.inbox.waitFor(1)
    assert.deepEqual([message?.topic, message?.payload.toString(), message?.retain], ['retained/ws', 'kept', true])
    await reader.client.publishAsync('retained/ws', '', { qos: 1, retain: true })
  })

  test('the will of a WebSocket client that drops is published', async () => {
    const watcher = await pool.connect(tcpPort, { clientId: 'will-watcher' })
    await watcher.client.subscribeAsync('wills/#', { qos: 1 })
    const dropping = await pool.connect(wsPort, overWs({ clientId: 'ws-dropper', will: { topic: 'wills/ws-dropper', payload: Buffer.from('lost'), qos: 1, retain: false } }))
    const gone = disconnected(broker, 'ws-dropper')
    dropping.client.stream.destroy()
    assert.equal(await gone, 'socketClosed')
    const [will] = await watcher.inbox.waitFor(1)
    assert.deepEqual([will?.topic, will?.payload.toString()], ['wills/ws-dropper', 'lost'])
  })

  test('a 5 MB QoS 1 message crosses WebSockets both ways whole', async () => {
    const payload = randomBytes(LARGE_BYTES)
    const wsReader = await pool.connect(wsPort, overWs({ clientId: 'ws-large-reader', protocolVersion: 5 }))
    const tcpReader = await pool.connect(tcpPort, { clientId: 'tcp-large-reader' })
    await wsReader.client.subscribeAsync('large/#', { qos: 1 })
    await tcpReader.client.subscribeAsync('large/#', { qos: 1 })
    const wsWriter = await pool.connect(wsPort, overWs({ clientId: 'ws-large-writer' }))
    await wsWriter.client.publishAsync('large/one', payload, { qos: 1 })
    for (const reader of [wsReader, tcpReader]) {
      const [message] = await reader.inbox.waitFor(1)
      assert.equal(message?.payload.length, LARGE_BYTES)
      assert.equal(sha256(message?.payload ?? Buffer.alloc(0)), sha256(payload))
    }
    // The connection goes on: a small message follows the large one.
    await wsWriter.client.publishAsync('large/two', 'small', { qos: 1 })
    const messages = await wsReader.inbox.waitFor(2)
    assert.equal(messages[1]?.payload.toString(), 'small')
  })

  test('a subscription made over WebSockets is visible to the broker like any other', async () => {
    const waiting = subscribed(broker, 'ws-visible')
    const client = await pool.connect(wsPort, overWs({ clientId: 'ws-visible' }))
    await client.client.subscribeAsync('seen/#', { qos: 0 })
    await waiting
    const details = broker.clientDetails().find((entry) => entry.clientId === 'ws-visible')
    assert.deepEqual([details?.subscriptions, details?.remoteAddress], [1, '127.0.0.1'])
  })
})
