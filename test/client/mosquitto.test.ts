// The client engine against Debian's mosquitto, started by the test on a free loopback port:
// MQTT 3.1.1 and 3.1 round trips, retained, will, restart with reconnect, persistent sessions,
// the offline queue, and TLS with a CA made here with openssl.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type ClientError, type ClientOptionsInput, createClient, type DeliveredMessage, type MqttClient } from '../../lib'
import { makeCertificates } from '../helpers/certificates'
import { collect, type Mosquitto, next, startMosquitto, tempDir } from './helpers'

type Received = DeliveredMessage & { dup: boolean }

function summary (m: Received): [string, string, number, boolean] {
  return [m.topic, m.payload.toString(), m.qos, m.retain]
}

describe('client engine against mosquitto', () => {
  const temp = tempDir('client-mosquitto')
  let mosquitto: Mosquitto
  let clients: MqttClient[] = []

  function client (options: Partial<ClientOptionsInput> = {}): MqttClient {
    const made = createClient({ host: '127.0.0.1', port: mosquitto.port, reconnectPeriodMs: 50, reconnectMaxMs: 200, ...options })
    made.on('error', () => {})
    clients.push(made)
    return made
  }

  before(async () => { mosquitto = await startMosquitto(temp.dir) })
  after(async () => {
    await Promise.all(clients.map((c) => c.end(true)))
    clients = []
    await mosquitto.stop()
    temp.remove()
  })

  for (const protocolVersion of [4, 3] as const) {
    it(`round-trips QoS 0, 1 and 2 over MQTT ${protocolVersion === 4 ? '3.1.1' : '3.1'}`, async () => {
      const c = client({ protocolVersion }).connect()
      assert.deepEqual((await next<[{ sessionPresent: boolean }]>(c, 'connect'))[0], { sessionPresent: false })
      assert.deepEqual(await c.subscribe([{ filter: `m${protocolVersion}/#`, qos: 2 }]), [2])
      const arriving = collect<Received>(c, 'message', 3)
      await c.publish({ topic: `m${protocolVersion}/0`, payload: 'zero', qos: 0 })
      await c.publish({ topic: `m${protocolVersion}/1`, payload: 'one', qos: 1 })
      await c.publish({ topic: `m${protocolVersion}/2`, payload: Buffer.from([0, 255]), qos: 2 })
      assert.deepEqual(await arriving, [
        { topic: `m${protocolVersion}/0`, payload: Buffer.from('zero'), qos: 0, retain: false, dup: false },
        { topic: `m${protocolVersion}/1`, payload: Buffer.from('one'), qos: 1, retain: false, dup: false },
        { topic: `m${protocolVersion}/2`, payload: Buffer.from([0, 255]), qos: 2, retain: false, dup: false }
      ])
      assert.deepEqual(await c.unsubscribe([`m${protocolVersion}/#`]), [0])
    })
  }

  it('gets retained messages on subscribe, and an empty retained message clears them [MQTT-3.3.1-10]', async () => {
    const c = client().connect()
    await next(c, 'connect')
    await c.publish({ topic: 'retained/a', payload: 'kept', qos: 1, retain: true })
    const arriving = next<[Received]>(c, 'message')
    await c.subscribe([{ filter: 'retained/#', qos: 1 }])
    assert.deepEqual(summary((await arriving)[0]), ['retained/a', 'kept', 1, true])
    await c.publish({ topic: 'retained/a', payload: '', qos: 1, retain: true })
    const other = client().connect()
    await next(other, 'connect')
    await other.subscribe([{ filter: 'retained/#', qos: 1 }])
    const marker = next<[Received]>(other, 'message')
    await other.publish({ topic: 'retained/marker', payload: 'm', qos: 1 })
    // The first message it sees is the marker: nothing retained was left to send.
    assert.deepEqual(summary((await marker)[0]), ['retained/marker', 'm', 1, false])
  })

  it('has its will published by mosquitto when destroyed [MQTT-3.1.2-8]', async () => {
    const watcher = client().connect()
    await next(watcher, 'connect')
    await watcher.subscribe([{ filter: 'wills/#', qos: 1 }])
    const doomed = client({ will: { topic: 'wills/doomed', payload: 'offline', qos: 1, retain: false } }).connect()
    await next(doomed, 'connect')
    const will = next<[Received]>(watcher, 'message')
    await doomed.end(true)
    assert.deepEqual(summary((await will)[0]), ['wills/doomed', 'offline', 1, false])
  })

  it('finds its persistent session with the QoS 1 messages mosquitto queued [MQTT-3.1.2-4]', async () => {
    const first = client({ clientId: 'persist-mosq', cleanSession: false }).connect()
    await next(first, 'connect')
    await first.subscribe([{ filter: 'persist/#', qos: 1 }])
    await first.end()
    const publisher = client().connect()
    await next(publisher, 'connect')
    for (const n of [1, 2, 3]) await publisher.publish({ topic: `persist/${n}`, payload: `m${n}`, qos: 1 })
    const second = client({ clientId: 'persist-mosq', cleanSession: false })
    const arriving = collect<Received>(second, 'message', 3)
    second.connect()
    assert.deepEqual((await next<[{ sessionPresent: boolean }]>(second, 'connect'))[0], { sessionPresent: true })
    assert.deepEqual((await arriving).map(summary), [['persist/1', 'm1', 1, false], ['persist/2', 'm2', 1, false], ['persist/3', 'm3', 1, false]])
  })

  it('reconnects after mosquitto restarts on the same port, resubscribes, sends its queue and receives again', async () => {
    const c = client().connect()
    await next(c, 'connect')
    await c.subscribe([{ filter: 'restart/#', qos: 1 }])
    const offline = next(c, 'offline')
    await mosquitto.stop()
    await offline
    assert.equal(c.connected, false)
    // QoS 1 waits in the client while the broker is away; retained so that it is there for
    // whoever subscribes, whichever reconnects first.
    const queued = c.publish({ topic: 'restart/queued', payload: 'waited', qos: 1, retain: true })
    assert.equal(c.queuedCount, 1)
    await assert.rejects(c.publish({ topic: 'restart/lost', payload: 'x', qos: 0 }), (error: ClientError) => error.code === 'NOT_CONNECTED')
    const reconnected = next<[{ sessionPresent: boolean }]>(c, 'connect')
    await mosquitto.start()
    assert.deepEqual((await reconnected)[0], { sessionPresent: false })
    await queued
    const watcher = client().connect()
    await next(watcher, 'connect')
    const kept = next<[Received]>(watcher, 'message')
    await watcher.subscribe([{ filter: 'restart/queued', qos: 1 }])
    assert.deepEqual(summary((await kept)[0]), ['restart/queued', 'waited', 1, true])
    // The subscription was made again without being asked: a new message reaches the client.
    const arriving = next<[Received]>(c, 'message')
    await watcher.publish({ topic: 'restart/after', payload: 'again', qos: 1 })
    assert.deepEqual(summary((await arriving)[0]), ['restart/after', 'again', 1, false])
  })
})

describe('client engine over TLS to mosquitto', () => {
  const temp = tempDir('client-tls')
  let mosquitto: Mosquitto
  const file = (name: string): Buffer => readFileSync(path.join(temp.dir, name))

  before(async () => {
    makeCertificates(temp.dir).client('client', '/CN=roost-client')
    mosquitto = await startMosquitto(temp.dir, [
      `cafile ${path.join(temp.dir, 'ca.crt')}`,
      `certfile ${path.join(temp.dir, 'server.crt')}`,
      `keyfile ${path.join(temp.dir, 'server.key')}`,
      'require_certificate true'
    ])
  })
  after(async () => {
    await mosquitto.stop()
    temp.remove()
  })

  it('connects with the CA and a client certificate and round-trips QoS 1', async () => {
    const c = createClient({ host: '127.0.0.1', port: mosquitto.port, tls: { ca: file('ca.crt'), cert: file('client.crt'), key: file('client.key') }, reconnectPeriodMs: 0 })
    try {
      c.connect()
      await next(c, 'connect')
      await c.subscribe([{ filter: 'tls/#', qos: 1 }])
      const arriving = next<[Received]>(c, 'message')
      await c.publish({ topic: 'tls/secret', payload: 'sealed', qos: 1 })
      assert.deepEqual(summary((await arriving)[0]), ['tls/secret', 'sealed', 1, false])
    } finally {
      await c.end()
    }
  })

  it('refuses a server whose certificate it cannot verify', async () => {
    const c = createClient({ host: '127.0.0.1', port: mosquitto.port, tls: { cert: file('client.crt'), key: file('client.key') }, reconnectPeriodMs: 0 })
    const failed = next<[Error & { code?: string }]>(c, 'error')
    const ended = next(c, 'end')
    c.connect()
    // mosquitto sends its CA along with its certificate: an untrusted self-signed root in the chain.
    assert.equal((await failed)[0].code, 'SELF_SIGNED_CERT_IN_CHAIN')
    await ended
    assert.equal(c.state, 'closed')
  })
})
