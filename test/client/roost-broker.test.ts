// The client engine against a Roost broker on a port picked at run time.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Broker, ClientError, type ClientOptionsInput, createBroker, createClient, type DeliveredMessage, type MqttClient } from '../../lib'
import { collect, next } from './helpers'

type Received = DeliveredMessage & { dup: boolean }

async function startBroker (port = 0): Promise<{ broker: Broker, port: number }> {
  const broker = createBroker({ listeners: [{ port, host: '127.0.0.1' }] })
  const [bound] = await broker.listen()
  return { broker, port: (bound as { port: number }).port }
}

describe('client engine against a Roost broker', () => {
  let broker: Broker
  let port: number
  const clients: MqttClient[] = []

  function client (options: Partial<ClientOptionsInput> = {}): MqttClient {
    const made = createClient({ host: '127.0.0.1', port, reconnectPeriodMs: 100, ...options })
    made.on('error', () => {})
    clients.push(made)
    return made
  }

  before(async () => { ({ broker, port } = await startBroker()) })
  after(async () => {
    await Promise.all(clients.map((c) => c.end(true)))
    await broker.close()
  })

  it('connects with a clean session and reports sessionPresent false [MQTT-3.2.2-1]', async () => {
    const c = client({ clientId: 'roost-connect' })
    assert.equal(c.state, 'new')
    c.connect()
    assert.equal(c.state, 'connecting')
    const [connack] = await next<[{ sessionPresent: boolean }]>(c, 'connect')
    assert.deepEqual(connack, { sessionPresent: false })
    assert.equal(c.connected, true)
    assert.deepEqual(broker.clients().map((info) => [info.clientId, info.protocolVersion, info.cleanSession, info.keepaliveSec]), [['roost-connect', 4, true, 60]])
    await c.end()
    assert.equal(c.state, 'closed')
  })

  it('round-trips QoS 0, 1 and 2 through the broker, each at its own QoS', async () => {
    const c = client().connect()
    await next(c, 'connect')
    assert.deepEqual(await c.subscribe([{ filter: 'rt/#', qos: 2 }]), [2])
    const arriving = collect<Received>(c, 'message', 3)
    await c.publish({ topic: 'rt/0', payload: 'zero', qos: 0 })
    await c.publish({ topic: 'rt/1', payload: Buffer.from([1, 2, 3]), qos: 1 })
    await c.publish({ topic: 'rt/2', payload: 'two', qos: 2 })
    const messages = await arriving
    assert.deepEqual(messages, [
      { topic: 'rt/0', payload: Buffer.from('zero'), qos: 0, retain: false, dup: false },
      { topic: 'rt/1', payload: Buffer.from([1, 2, 3]), qos: 1, retain: false, dup: false },
      { topic: 'rt/2', payload: Buffer.from('two'), qos: 2, retain: false, dup: false }
    ])
    assert.equal(c.inflightCount, 0)
  })

  it('receives at the lesser of published and granted QoS, and broker publishes reach it', async () => {
    const c = client().connect()
    await next(c, 'connect')
    assert.deepEqual(await c.subscribe([{ filter: 'down/one', qos: 1 }, { filter: 'down/two', qos: 2 }]), [1, 2])
    const arriving = collect<Received>(c, 'message', 2)
    broker.publish({ topic: 'down/one', payload: 'a', qos: 2 })
    broker.publish({ topic: 'down/two', payload: 'b', qos: 2 })
    assert.deepEqual(await arriving, [
      { topic: 'down/one', payload: Buffer.from('a'), qos: 1, retain: false, dup: false },
      { topic: 'down/two', payload: Buffer.from('b'), qos: 2, retain: false, dup: false }
    ])
  })

  it('gets retained messages on subscribe with retain set [MQTT-3.3.1-6]', async () => {
    const publisher = client().connect()
    await next(publisher, 'connect')
    await publisher.publish({ topic: 'kept/state', payload: 'on', qos: 1, retain: true })
    const c = client().connect()
    await next(c, 'connect')
    const arriving = next<[Received]>(c, 'message')
    await c.subscribe([{ filter: 'kept/+', qos: 1 }])
    assert.deepEqual((await arriving)[0], { topic: 'kept/state', payload: Buffer.from('on'), qos: 1, retain: true, dup: false })
  })

  it('has its will published when destroyed, and not after end() [MQTT-3.1.2-8] [MQTT-3.1.2-10]', async () => {
    const wills: DeliveredMessage[] = []
    const stop = broker.subscribe('will/#', 1, (message) => wills.push(message))
    try {
      const graceful = client({ clientId: 'will-graceful', will: { topic: 'will/graceful', payload: 'gone', qos: 1 } }).connect()
      await next(graceful, 'connect')
      const gone = next<[{ clientId: string, willPublished: boolean }]>(broker, 'clientDisconnected')
      await graceful.end()
      assert.deepEqual(((await gone)[0]).willPublished, false)

      const destroyed = client({ clientId: 'will-destroyed', will: { topic: 'will/destroyed', payload: 'lost', qos: 1, retain: false } }).connect()
      await next(destroyed, 'connect')
      const published = next(broker, 'willPublished')
      await destroyed.end(true)
      await published
      assert.deepEqual(wills, [{ topic: 'will/destroyed', payload: Buffer.from('lost'), qos: 1, retain: false }])
    } finally {
      stop()
    }
  })

  it('queues QoS 1 messages published before connecting and sends them once connected', async () => {
    const seen: DeliveredMessage[] = []
    const stop = broker.subscribe('early/#', 1, (message) => seen.push(message))
    try {
      const c = client()
      await assert.rejects(c.publish({ topic: 'early/zero', payload: 'x', qos: 0 }), (error: ClientError) => error.code === 'NOT_CONNECTED')
      const first = c.publish({ topic: 'early/a', payload: '1', qos: 1 })
      const second = c.publish({ topic: 'early/b', payload: '2', qos: 2 })
      assert.equal(c.queuedCount, 2)
      c.connect()
      await Promise.all([first, second])
      assert.deepEqual(seen.map((m) => [m.topic, m.payload.toString(), m.qos]), [['early/a', '1', 1], ['early/b', '2', 1]])
    } finally {
      stop()
    }
  })

  it('finds its persistent session with the messages the broker queued meanwhile [MQTT-3.1.2-4]', async () => {
    const first = client({ clientId: 'persist-roost', cleanSession: false }).connect()
    assert.deepEqual((await next<[{ sessionPresent: boolean }]>(first, 'connect'))[0], { sessionPresent: false })
    await first.subscribe([{ filter: 'persist/#', qos: 1 }])
    const detached = next(broker, 'clientDisconnected')
    await first.end()
    await detached
    for (const n of [1, 2, 3]) broker.publish({ topic: `persist/${n}`, payload: `m${n}`, qos: 1 })
    const second = client({ clientId: 'persist-roost', cleanSession: false })
    const arriving = collect<Received>(second, 'message', 3)
    second.connect()
    assert.deepEqual((await next<[{ sessionPresent: boolean }]>(second, 'connect'))[0], { sessionPresent: true })
    assert.deepEqual((await arriving).map((m) => [m.topic, m.payload.toString(), m.qos]), [['persist/1', 'm1', 1], ['persist/2', 'm2', 1], ['persist/3', 'm3', 1]])
  })

  it('refuses what it cannot send, before anything is written', async () => {
    const c = client({ maxPacketBytes: 64, maxQueuedMessages: 1 })
    const code = (expected: string) => (error: ClientError) => error instanceof ClientError && error.code === expected
    // [MQTT-3.3.2-2] no wildcards in a topic name; [MQTT-4.7.3-1] not empty
    await assert.rejects(c.publish({ topic: 'a/+', qos: 1 }), code('INVALID_PACKET'))
    await assert.rejects(c.publish({ topic: '', qos: 1 }), code('INVALID_PACKET'))
    await assert.rejects(c.publish({ topic: 'a', qos: 3 as 0 }), code('INVALID_PACKET'))
    await assert.rejects(c.publish({ topic: 'a', payload: Buffer.alloc(100), qos: 1 }), code('PACKET_TOO_LARGE'))
    // [MQTT-4.7.1-2] '#' only as the last level
    await assert.rejects(c.subscribe([{ filter: 'a/#/b', qos: 0 }]), code('INVALID_PACKET'))
    await assert.rejects(c.subscribe([]), code('INVALID_PACKET'))
    await assert.rejects(c.unsubscribe(['a/b#']), code('INVALID_PACKET'))
    const queued = c.publish({ topic: 'a', payload: 'q', qos: 1 })
    await assert.rejects(c.publish({ topic: 'a', payload: 'r', qos: 1 }), code('QUEUE_FULL'))
    const ending = c.end()
    await assert.rejects(queued, code('CLOSED'))
    await ending
    await c.end()
    await assert.rejects(c.publish({ topic: 'a', qos: 1 }), code('CLOSED'))
    assert.throws(() => createClient({ host: '127.0.0.1', protocolVersion: 3, clientId: '' }), code('INVALID_OPTIONS'))
    assert.throws(() => createClient({ host: '127.0.0.1', keepaliveSec: -1 }), code('INVALID_OPTIONS'))
    assert.throws(() => createClient({ host: '127.0.0.1', will: { topic: 'w/#' } }), code('INVALID_OPTIONS'))
  })

  it('ends at once, reporting why, when its TLS key cannot be used', async () => {
    const c = client({ tls: { key: 'not a key', cert: 'not a certificate' } })
    const failed = next<[Error]>(c, 'error')
    const ended = next(c, 'end')
    c.connect()
    assert.match((await failed)[0].message, /PEM|key|certificate/i)
    await ended
    assert.equal(c.state, 'closed')
  })

  it('unsubscribes: the broker stops sending and the filter is not made again later', async () => {
    const c = client().connect()
    await next(c, 'connect')
    await c.subscribe([{ filter: 'unsub/a', qos: 0 }, { filter: 'unsub/b', qos: 0 }])
    assert.deepEqual(await c.unsubscribe(['unsub/a']), [0])
    assert.deepEqual(c.subscriptions, ['unsub/b'])
    const arriving = next<[Received]>(c, 'message')
    broker.publish({ topic: 'unsub/a', payload: 'not for me' })
    broker.publish({ topic: 'unsub/b', payload: 'for me' })
    assert.equal((await arriving)[0].topic, 'unsub/b')
  })
})

describe('client engine when the Roost broker restarts', () => {
  it('goes offline, reconnects with backoff, resubscribes and receives again', async () => {
    let { broker, port } = await startBroker()
    const c = createClient({ host: '127.0.0.1', port, reconnectPeriodMs: 50, reconnectMaxMs: 200 })
    c.on('error', () => {})
    try {
      c.connect()
      await next(c, 'connect')
      await c.subscribe([{ filter: 'restart/#', qos: 1 }])
      const offline = next(c, 'offline')
      const reconnecting = next<[{ attempt: number, delayMs: number }]>(c, 'reconnecting')
      await broker.close()
      await offline
      assert.deepEqual((await reconnecting)[0], { attempt: 1, delayMs: 50 })
      // A message published while the broker is away waits in the client's queue.
      const queued = c.publish({ topic: 'restart/queued', payload: 'waited', qos: 1 })
      assert.equal(c.queuedCount, 1)
      ;({ broker } = await startBroker(port))
      const seen: DeliveredMessage[] = []
      broker.subscribe('restart/#', 1, (message) => seen.push(message))
      const [connack] = await next<[{ sessionPresent: boolean }]>(c, 'connect')
      assert.deepEqual(connack, { sessionPresent: false })
      await queued
      assert.deepEqual(seen.map((m) => [m.topic, m.payload.toString()]), [['restart/queued', 'waited']])
      // The subscription was made again without being asked [MQTT-3.1.2-6]: the new broker delivers.
      const arriving = next<[Received]>(c, 'message')
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (broker.subscriptionCount >= 2) resolve()
          else broker.once('subscribe', check)
        }
        check()
      })
      broker.publish({ topic: 'restart/after', payload: 'again', qos: 1 })
      assert.deepEqual((await arriving)[0], { topic: 'restart/after', payload: Buffer.from('again'), qos: 1, retain: false, dup: false })
    } finally {
      await c.end()
      await broker.close()
    }
  })
})
