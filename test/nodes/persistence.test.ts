// The embedded broker keeps its state in <userDir>/roost/<broker node id>/: a deploy (the nodes
// stopped and started again, as a full deploy and a Node-RED restart do) keeps its retained
// messages and the queue of an offline persistent client. Clients: roost out/in and MQTT.js.
import assert from 'node:assert/strict'
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { LIVE_VIEW_PATH } from '../../nodes/sidebar/runtime'
import { STORE_REMOVAL_PATH, storeRemovalMarked } from '../../nodes/broker/store-removal'
import { collect, embeddedBroker, type FlowNode, freePort, helper, listeningBroker, roost, startServer, stopServer } from './support'

/** Deploys through the runtime as the editor's Deploy button does (test/nodes/lifecycle.test.ts), and waits for the start. */
async function deploy (flow: unknown[], type: 'full' | 'nodes'): Promise<void> {
  const started = new Promise<void>((resolve) => { (helper as unknown as { _events: { once: (event: string, listener: () => void) => void } })._events.once('flows:started', () => { resolve() }) })
  await helper._redNodes.setFlows(flow, {}, type)
  await started
}

describe('an embedded broker with persistence (on by default)', () => {
  let userDir = ''
  before(async () => {
    userDir = mkdtempSync(path.join(os.tmpdir(), 'roost-userdir-'))
    helper.settings({ userDir })
    await startServer()
  })
  after(async () => {
    helper.settings({})
    await stopServer()
    rmSync(userDir, { recursive: true, force: true })
  })
  afterEach(async () => { await helper.unload() })

  it('keeps retained messages and an offline client\'s queue across a deploy, in <userDir>/roost/<node id>/', async () => {
    const port = await freePort()
    // A node saved without the persistence field persists: the default is on.
    const broker = { ...embeddedBroker('pb1', { port }), persistence: undefined }
    const out: FlowNode = { id: 'out1', type: 'roost out', broker: 'pb1', topic: '', qos: '', retain: '' }
    await helper.load(roost, [broker, out])
    const first = await listeningBroker('pb1')
    const keeper = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'keeper', clean: false, reconnectPeriod: 0 })
    await keeper.subscribeAsync('queued/#', { qos: 1 })
    await keeper.endAsync()
    helper.getNode('out1').receive({ topic: 'queued/1', payload: 'while away', qos: 1 })
    helper.getNode('out1').receive({ topic: 'state/lamp', payload: 'on', qos: 1, retain: true })
    for (let i = 0; i < 100 && first.broker.retainedCount === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(first.broker.retainedCount, 1)
    await helper.unload()

    const dir = path.join(userDir, 'roost', 'pb1')
    assert.ok(existsSync(dir) && readdirSync(dir).some((name) => name.endsWith('.log')), `no store in ${dir}`)
    await helper.load(roost, [broker, out,
      { id: 'in1', type: 'roost in', broker: 'pb1', topic: '', dynamic: true, qos: '1', datatype: 'utf8', wires: [['sink']] },
      { id: 'sink', type: 'helper' }])
    await listeningBroker('pb1')
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('in1').receive({ action: 'subscribe', topic: 'state/#' })
    const [msg] = await got
    assert.deepEqual({ topic: msg?.topic, payload: msg?.payload, retain: msg?.retain }, { topic: 'state/lamp', payload: 'on', retain: true })
    // The client listens before its CONNACK: the queued message follows it at once.
    const back = mqtt.connect({ host: '127.0.0.1', port, clientId: 'keeper', clean: false, reconnectPeriod: 0 })
    const queued = new Promise<string>((resolve) => back.once('message', (topic, payload) => { resolve(`${topic} ${payload.toString()}`) }))
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => back.once('connect', resolve))
    assert.equal(connack.sessionPresent, true)
    assert.equal(await queued, 'queued/1 while away')
    await back.endAsync()
  })

  it('unticked, it keeps nothing on disk', async () => {
    await helper.load(roost, [embeddedBroker('pb2', { persistence: false })])
    await listeningBroker('pb2')
    assert.equal(existsSync(path.join(userDir, 'roost', 'pb2')), false)
  })

  it('a store that cannot write shows on the nodes\' status, and the broker keeps serving', async () => {
    await helper.load(roost, [embeddedBroker('pb3', { persistence: true }),
      { id: 'in3', type: 'roost in', broker: 'pb3', topic: 'state/#', qos: '1', datatype: 'utf8', wires: [['sink3']] },
      { id: 'sink3', type: 'helper' }])
    const { broker } = await listeningBroker('pb3')
    const transport = (helper.getNode('pb3') as unknown as { transport: EmbeddedTransport }).transport
    // The log's descriptor swapped for a read-only one under the store, as test/store does: every write fails as on a broken disk.
    const store = (broker as unknown as { core: { store: { fd: number | undefined } } }).core.store
    closeSync(store.fd as number)
    store.fd = openSync('/dev/null', 'r')
    const got = collect(helper.getNode('sink3'), 1)
    broker.publish({ topic: 'state/lamp', payload: Buffer.from('on'), qos: 1, retain: true })
    assert.equal((await got)[0]?.payload, 'on')
    for (let i = 0; i < 100 && broker.statsSnapshot().disk?.failure === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.match(broker.statsSnapshot().disk?.failure ?? '', /EBADF/)
    transport.checkStore()
    assert.match(transport.status.storeFailure ?? '', /EBADF/)
    const spy = (helper as unknown as { _NodePrototype: { status: { getCalls: () => Array<{ thisValue: { id: string }, args: unknown[] }> } } })._NodePrototype.status
    const shown = spy.getCalls().filter((call) => call.thisValue.id === 'in3').map((call) => call.args[0])
    assert.deepEqual(shown.at(-1), { fill: 'yellow', shape: 'dot', text: 'roost-broker.status.store-failing' })
    const logged = helper.log().args.map((args) => String((args[0] as { msg: unknown }).msg))
    assert.ok(logged.some((line) => /write failed .*serving from memory/.test(line)), logged.join('\n'))
    assert.equal(broker.retainedCount, 1)
  })

  it('the sidebar\'s GET /roost/live gives the store\'s size, its last compaction and its failure', async () => {
    await helper.load(roost, [embeddedBroker('pb4', { persistence: true })])
    const { broker } = await listeningBroker('pb4')
    broker.publish({ topic: 'state/lamp', payload: Buffer.from('on'), qos: 1, retain: true })
    const view = async (): Promise<{ bytes: number, lastCompaction: string, failure: string }> => {
      const body = (await helper.request().get(LIVE_VIEW_PATH).expect(200)).body as { brokers: Array<{ id: string, store: { bytes: number, lastCompaction: string, failure: string } }> }
      const entry = body.brokers.find((candidate) => candidate.id === 'pb4')
      assert.ok(entry !== undefined)
      return entry.store
    }
    for (let i = 0; i < 100 && (broker.statsSnapshot().disk?.bytes ?? 0) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    const before = await view()
    assert.ok(before.bytes > 0, JSON.stringify(before))
    assert.deepEqual({ ...before, bytes: 0 }, { bytes: 0, lastCompaction: '', failure: '' })
    // A compaction asked of the store (as recovery from a damaged log does) runs after the next batch.
    const store = (broker as unknown as { core: { store: { compactRequested: boolean } } }).core.store
    store.compactRequested = true
    broker.publish({ topic: 'state/door', payload: Buffer.from('shut'), qos: 1, retain: true })
    for (let i = 0; i < 250 && (broker.statsSnapshot().disk?.lastCompactionMs ?? 0) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    const after = await view()
    assert.equal(new Date(after.lastCompaction).getTime(), broker.statsSnapshot().disk?.lastCompactionMs)
    assert.ok(after.bytes > 0)
  })

  it('a deleted broker\'s data goes at the deploy that removes it only when the editor asked; nothing else goes', async () => {
    const keep = embeddedBroker('pb6', { persistence: true })
    await helper.load(roost, [embeddedBroker('pb5', { persistence: true }), keep])
    await listeningBroker('pb5')
    await listeningBroker('pb6')
    const dir = (id: string): string => path.join(userDir, 'roost', id)
    assert.ok(existsSync(dir('pb5')) && existsSync(dir('pb6')))
    await helper.request().post(STORE_REMOVAL_PATH).send({ id: 'pb5', remove: true }).expect(200, { id: 'pb5', remove: true })
    await helper.request().post(STORE_REMOVAL_PATH).send({ id: 'pb6', remove: true }).expect(200)
    // Only ids of running broker nodes, never a path.
    await helper.request().post(STORE_REMOVAL_PATH).send({ id: '../pb6', remove: true }).expect(400)
    await helper.request().post(STORE_REMOVAL_PATH).send({ id: '..', remove: true }).expect(400)
    await helper.request().post(STORE_REMOVAL_PATH).send({ id: 'pb5', remove: 'yes' }).expect(400)
    await helper.request().post(STORE_REMOVAL_PATH).send({ id: 'nowhere', remove: true }).expect(404)

    // pb5 deleted, pb6 changed (its deletion undone before the deploy): pb5's data goes, pb6's stays and its mark clears.
    await deploy([{ ...keep, name: 'renamed' }], 'nodes')
    await listeningBroker('pb6')
    assert.equal(existsSync(dir('pb5')), false)
    assert.ok(existsSync(dir('pb6')))
    assert.equal(storeRemovalMarked('pb6'), false)
    // pb6 deleted without the mark: kept. The roost directory and the other brokers' data stay.
    await deploy([], 'full')
    assert.ok(existsSync(dir('pb6')) && readdirSync(dir('pb6')).some((name) => name.endsWith('.log')))
    assert.ok(existsSync(dir('pb1')))
  })
})
