// The topic explorer's admin endpoints on a roost-broker node (node-red-node-test-helper): the tree
// from retained messages published before the node was asked and from live MQTT.js traffic, one
// topic's details with MQTT 5 properties, search, publish and clear from the view, bad input as 400;
// the deltas pushed while a view is open, at most one batch per PUSH_EVERY_MS; a remote broker's
// view fed by the client engine's '#'.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { createBroker } from '../../lib'
import { BrokerExplorer, type DeltaBatch, ROOT_KEY } from '../../nodes/explorer/explorer'
import { EXPLORER_PATH, explorerCount } from '../../nodes/explorer/runtime'
import { INDEX_DEFAULTS } from '../../nodes/explorer/topic-index'
import type { RoostTransport } from '../../nodes/shared/transport'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { embeddedBroker, helper, listeningBroker, roost, startMosquitto, startServer, stopServer } from './support'

/** GET with a query string; the answer's body, after checking the status. */
async function getJson (path: string, query: Record<string, string>, status: number): Promise<{ body: any }> {
  const search = new URLSearchParams(query).toString()
  return await helper.request().get(search === '' ? path : `${path}?${search}`).expect(status) as { body: any }
}

async function postJson (path: string, body: unknown, status: number): Promise<{ body: any }> {
  return await helper.request().post(path).send(body).expect(status) as { body: any }
}

interface Row { name: string, path: string, topics: number, messages: number, hasChildren: boolean, topic?: { retain: boolean, preview: string, qos: number } }

describe('topic explorer endpoints', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('browses the tree level by level, shows a topic with its MQTT 5 properties, searches; 404 for an unknown broker or level', async () => {
    await helper.load(roost, [embeddedBroker('xb', { name: 'house' })])
    const { port } = await listeningBroker('xb')
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'explorer-probe', protocolVersion: 5, reconnectPeriod: 0 })
    try {
      await client.publishAsync('zigbee2mqtt/lamp/availability', 'online', { qos: 1, retain: true })
      await client.publishAsync('zigbee2mqtt/lamp', '{"state":"ON","brightness":120}', { qos: 1, retain: true, properties: { contentType: 'application/json', userProperties: { via: 'test' } } })
      await client.publishAsync('zigbee2mqtt/plug/availability', 'offline', { qos: 0 })
      const list = await helper.request().get(EXPLORER_PATH).expect(200)
      assert.deepEqual(list.body, { brokers: [{ id: 'xb', label: 'house', kind: 'embedded', topics: 3 }] })
      const top = await getJson(`${EXPLORER_PATH}/xb/children`, {}, 200)
      assert.deepEqual((top.body.rows as Row[]).map((row) => [row.path, row.topics, row.messages, row.hasChildren]), [['zigbee2mqtt', 3, 3, true]])
      const lamp = await getJson(`${EXPLORER_PATH}/xb/children`, { path: 'zigbee2mqtt' }, 200)
      assert.deepEqual((lamp.body.rows as Row[]).map((row) => [row.path, row.topics, row.hasChildren, row.topic?.preview]),
        [['zigbee2mqtt/lamp', 2, true, '{"state":"ON","brightness":120}'], ['zigbee2mqtt/plug', 1, true, undefined]])
      const details = await getJson(`${EXPLORER_PATH}/xb/topic`, { topic: 'zigbee2mqtt/lamp' }, 200)
      assert.equal(Buffer.from(details.body.payloadBase64 as string, 'base64').toString(), '{"state":"ON","brightness":120}')
      assert.deepEqual([details.body.qos, details.body.retain, details.body.properties, details.body.userProperties], [1, true, { contentType: 'application/json' }, [['via', 'test']]])
      const found = await getJson(`${EXPLORER_PATH}/xb/search`, { q: 'zigbee2mqtt/+/availability' }, 200)
      assert.deepEqual((found.body.hits as Row[]).map((hit) => hit.path), ['zigbee2mqtt/lamp/availability', 'zigbee2mqtt/plug/availability'])
      const bad = await getJson(`${EXPLORER_PATH}/xb/search`, { q: 'a/#/b' }, 400)
      assert.match(bad.body.error as string, /Invalid filter/)
      await getJson(`${EXPLORER_PATH}/nope/children`, {}, 404)
      await getJson(`${EXPLORER_PATH}/xb/children`, { path: 'no/such' }, 404)
      await getJson(`${EXPLORER_PATH}/xb/topic`, { topic: 'no/such' }, 404)
    } finally {
      await client.endAsync()
    }
    await helper.unload()
    assert.equal(explorerCount(), 0)
  })

  it('a publish from the view reaches an MQTT.js subscriber with its properties; clear removes the retained message; bad input is a 400', async () => {
    await helper.load(roost, [embeddedBroker('xp')])
    const { port } = await listeningBroker('xp')
    const subscriber = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'explorer-sub', protocolVersion: 5, reconnectPeriod: 0 })
    try {
      await subscriber.subscribeAsync('cmd/#', { qos: 1 })
      const received = new Promise<{ topic: string, payload: string, retain: boolean, contentType?: string, user?: unknown }>((resolve) => {
        subscriber.once('message', (topic, payload, packet) => { resolve({ topic, payload: payload.toString(), retain: packet.retain, contentType: packet.properties?.contentType, user: { ...packet.properties?.userProperties } }) })
      })
      await postJson(`${EXPLORER_PATH}/xp/publish`, { topic: 'cmd/lamp', payload: '{"state":"OFF"}', qos: 1, retain: true, properties: { contentType: 'application/json', userProperties: { from: 'view' } } }, 200)
      assert.deepEqual(await received, { topic: 'cmd/lamp', payload: '{"state":"OFF"}', retain: false, contentType: 'application/json', user: { from: 'view' } })
      assert.equal((await getJson(`${EXPLORER_PATH}/xp/topic`, { topic: 'cmd/lamp' }, 200)).body.retain, true)
      await postJson(`${EXPLORER_PATH}/xp/clear`, { topic: 'cmd/lamp' }, 200)
      // A new subscriber gets no retained message, and the topic left the tree.
      const late = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'explorer-late', reconnectPeriod: 0 })
      const retained: string[] = []
      late.on('message', (topic) => { retained.push(topic) })
      await late.subscribeAsync('cmd/#', { qos: 1 })
      await late.publishAsync('cmd/marker', 'end', { qos: 1 })
      await late.endAsync()
      assert.deepEqual(retained, ['cmd/marker'])
      await getJson(`${EXPLORER_PATH}/xp/topic`, { topic: 'cmd/lamp' }, 404)
      for (const body of [{ topic: '' }, { topic: 'a/+' }, { topic: 'a', qos: 3 }, { topic: 'a', properties: { topicAlias: 1 } }, { topic: 'a', properties: { messageExpiryInterval: -1 } }]) {
        const answer = await postJson(`${EXPLORER_PATH}/xp/publish`, body, 400)
        assert.ok(typeof answer.body.error === 'string' && answer.body.error !== '', JSON.stringify(body))
      }
    } finally {
      await subscriber.endAsync()
    }
  })

  it('sends a view only the rows it shows: topics and levels listed in an expanded level, and its selected topic', async () => {
    const broker = createBroker({ listeners: [], sysIntervalSec: 0 })
    await broker.listen()
    const batches: DeltaBatch[] = []
    const transport = { kind: 'embedded' } as unknown as RoostTransport
    const explorer = new BrokerExplorer('f', transport, broker, INDEX_DEFAULTS, (_topic, data) => { batches.push(data as DeltaBatch) })
    try {
      explorer.viewOpened('view-1', { shown: [ROOT_KEY, 'home'], selected: 'deep/a/b' })
      for (const topic of ['top', 'home/lamp', 'home/hall/light', 'deep/a/b', 'deep/a/c']) broker.publish({ topic, payload: 'x' })
      explorer.flush()
      assert.deepEqual(batches[0]?.topics.map((t) => t.topic), ['top', 'home/lamp', 'deep/a/b'])
      // Counts of the rows on screen: top-level levels and home's children; not deep/a (deep is folded).
      assert.deepEqual(batches[0]?.levels, [['top', 1, 1], ['home/lamp', 1, 1], ['home', 2, 2], ['home/hall', 1, 1], ['deep', 2, 2]])
    } finally {
      explorer.stop()
      await broker.close()
    }
  })

  it('pushes changed topics only while a view is open, one batch per tick, and stops when the view falls silent', async () => {
    const broker = createBroker({ listeners: [], sysIntervalSec: 0 })
    await broker.listen()
    let clock = 1_000_000
    const batches: Array<{ topic: string, data: DeltaBatch }> = []
    const transport = { kind: 'embedded' } as unknown as RoostTransport
    const explorer = new BrokerExplorer('b', transport, broker, INDEX_DEFAULTS, (topic, data) => { batches.push({ topic, data: data as DeltaBatch }) }, () => clock)
    try {
      broker.publish({ topic: 'before/view', payload: '1' })
      explorer.flush()
      assert.equal(batches.length, 0, 'nothing is pushed before a view opens')
      explorer.viewOpened()
      for (let i = 0; i < 50; i++) broker.publish({ topic: 'stream', payload: String(i) })
      broker.publish({ topic: 'other', payload: 'x', retain: true })
      explorer.flush()
      explorer.flush()
      assert.equal(batches.length, 1)
      assert.equal(batches[0]?.topic, 'roost/explorer/b')
      assert.deepEqual(batches[0]?.data.topics.map((t) => [t.topic, t.messages, t.preview, t.retain, t.isNew]), [['stream', 50, '49', false, true], ['other', 1, 'x', true, true]])
      assert.deepEqual(batches[0]?.data.levels, [['stream', 1, 50], ['other', 1, 1]])
      assert.equal(batches[0]?.data.topicCount, 3)
      // A topic seen before the view opened is not new; each level above a changed topic comes once, with exact counts.
      for (let i = 0; i < 3; i++) broker.publish({ topic: 'stream', payload: 'more' })
      broker.publish({ topic: 'before/view', payload: '2' })
      broker.publish({ topic: 'before/then', payload: '1' })
      explorer.flush()
      assert.deepEqual(batches[1]?.data.topics.map((t) => [t.topic, t.messages, t.isNew]), [['stream', 53, false], ['before/view', 2, false], ['before/then', 1, true]])
      assert.deepEqual(batches[1]?.data.levels, [['stream', 1, 53], ['before/view', 1, 2], ['before', 2, 3], ['before/then', 1, 1]])
      clock += 31_000
      broker.publish({ topic: 'stream', payload: 'late' })
      explorer.flush()
      assert.equal(batches.length, 2, 'no batch once the view has been silent past VIEW_ALIVE_MS')
    } finally {
      explorer.stop()
      await broker.close()
    }
  })

  it('a remote broker (Debian mosquitto): the view is fed through the client engine\'s \'#\' once opened, retained messages first; publish goes there', async () => {
    const mosquitto = await startMosquitto()
    const pub = promisify(execFile)
    try {
      await pub('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'far/retained', '-m', 'kept', '-r', '-q', '1'])
      await helper.load(roost, [{ id: 'xr', type: 'roost-broker', name: 'far away', mode: 'remote', host: '127.0.0.1', remotePort: String(mosquitto.port), protocolVersion: '4', keepalive: '30', cleansession: true, reconnectPeriod: '1' }])
      assert.deepEqual((await getJson(EXPLORER_PATH, {}, 200)).body, { brokers: [{ id: 'xr', label: 'far away', kind: 'remote', topics: 0 }] })
      await postJson(`${EXPLORER_PATH}/xr/watch`, {}, 200)
      // Bounded wait for the subscription's retained message to come in (at most 10 s).
      const seen = async (topic: string): Promise<{ preview: string, retain: boolean }> => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const answer = await getJson(`${EXPLORER_PATH}/xr/topic`, { topic }, 200).catch(() => undefined)
          if (answer !== undefined) return answer.body as { preview: string, retain: boolean }
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        throw new Error(`${topic} never reached the remote broker's view`)
      }
      assert.deepEqual(await seen('far/retained').then(({ preview, retain }) => ({ preview, retain })), { preview: 'kept', retain: true })
      await pub('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'far/live', '-m', '42'])
      assert.equal((await seen('far/live')).preview, '42')
      await postJson(`${EXPLORER_PATH}/xr/publish`, { topic: 'far/from-view', payload: 'hi', qos: 1 }, 200)
      assert.equal((await seen('far/from-view')).preview, 'hi')
    } finally {
      await helper.unload()
      await mosquitto.stop()
    }
  })
})
