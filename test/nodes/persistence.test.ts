// The embedded broker keeps its state in <userDir>/roost/<broker node id>/: a deploy (the nodes
// stopped and started again, as a full deploy and a Node-RED restart do) keeps its retained
// messages and the queue of an offline persistent client. Clients: roost out/in and MQTT.js.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { collect, embeddedBroker, type FlowNode, freePort, helper, listeningBroker, roost, startServer, stopServer } from './support'

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
})
