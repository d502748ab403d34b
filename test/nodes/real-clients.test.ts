// Real MQTT clients (mosquitto_pub/mosquitto_sub and MQTT.js) talking over TCP to the broker a
// roost-broker node runs, with roost in / roost out on the other side of the flow.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { Broker } from '../../lib'
import { collect, embeddedBroker, type FlowNode, helper, listeningBroker, roost, startServer, stopServer } from './support'

const USERS = JSON.stringify([{ username: 'sensor', password: 's3cret' }, { username: 'panel', password: 'p4nel' }])

function flow (brokerExtra: Record<string, unknown> = {}): FlowNode[] {
  return [
    embeddedBroker('b1', brokerExtra),
    { id: 'in1', type: 'roost in', broker: 'b1', topic: 'ext/#', qos: '2', datatype: 'auto-detect', wires: [['sink']] },
    { id: 'sink', type: 'helper' },
    { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '', retain: '' }
  ]
}

function started (): Promise<{ broker: Broker, port: number }> {
  return listeningBroker('b1')
}

function run (command: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : (typeof error.code === 'number' ? error.code : 1), stdout, stderr })
    })
  })
}

function nextSubscribe (broker: Broker): Promise<void> {
  return new Promise((resolve) => { broker.once('subscribe', () => { resolve() }) })
}

describe('real clients against the embedded broker of a flow', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('mosquitto_pub → roost in', async () => {
    await helper.load(roost, flow())
    const { port } = await started()
    const got = collect(helper.getNode('sink'), 1)
    const result = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'ext/kitchen', '-m', '{"t":21.5}', '-q', '1'])
    assert.equal(result.code, 0, result.stderr)
    const [msg] = await got
    assert.deepEqual({ topic: msg?.topic, payload: msg?.payload, qos: msg?.qos }, { topic: 'ext/kitchen', payload: { t: 21.5 }, qos: 1 })
  })

  it('roost out → mosquitto_sub, QoS 2 and retained', async () => {
    await helper.load(roost, flow())
    const { broker, port } = await started()
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'flow/#', '-v', '-q', '2', '-C', '2'])
    let output = ''
    sub.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<number | null>((resolve) => { sub.once('exit', resolve) })
    await nextSubscribe(broker)
    helper.getNode('out1').receive({ topic: 'flow/one', payload: 'first', qos: 2 })
    helper.getNode('out1').receive({ topic: 'flow/two', payload: { second: true }, qos: 1, retain: true })
    assert.equal(await exited, 0)
    // Two topics at two QoS levels: MQTT orders messages per topic, not across topics [MQTT-4.6.0-6].
    assert.deepEqual(output.split('\n').filter((line) => line !== '').sort(), ['flow/one first', 'flow/two {"second":true}'])
    // The retained one is there for a client that comes later.
    const late = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'flow/two', '-C', '1', '-v'])
    assert.equal(late.stdout, 'flow/two {"second":true}\n')
  })

  it('users from credentials: the right password connects, a wrong one and anonymous are refused', async () => {
    await helper.load(roost, flow({ allowAnonymous: false }), { b1: { users: USERS } })
    const { port } = await started()
    const got = collect(helper.getNode('sink'), 1)
    const ok = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'sensor', '-P', 's3cret', '-t', 'ext/auth', '-m', 'yes'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal((await got)[0]?.payload, 'yes')
    const wrong = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'sensor', '-P', 'nope', '-t', 'ext/auth', '-m', 'no'])
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /not authori[sz]ed|bad user name or password/i)
    const anonymous = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'ext/auth', '-m', 'no'])
    assert.notEqual(anonymous.code, 0)
  })

  it('the users list never appears in the flow, only in the credentials', async () => {
    await helper.load(roost, flow({ allowAnonymous: false }), { b1: { users: USERS } })
    const flows = JSON.stringify(helper._redNodes.getFlows().flows)
    assert.ok(!flows.includes('s3cret'))
    assert.ok(!flows.includes('sensor'))
  })

  it('MQTT.js: QoS 1 both ways, and roost in shows its own subscription, not the client count', async () => {
    await helper.load(roost, flow())
    const { broker, port } = await started()
    const statusTexts: string[] = []
    helper.getNode('in1').on('call:status', (call: { args: Array<{ text?: string }> }) => { statusTexts.push(call.args[0]?.text ?? '') })
    const connected = new Promise<void>((resolve) => { broker.once('clientConnected', () => { resolve() }) })
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'mqttjs-real', reconnectPeriod: 0 })
    await connected
    assert.ok(!statusTexts.some((text) => text.startsWith('roost-broker.status.client')), statusTexts.join(', '))
    assert.equal(statusTexts.at(-1), 'roost-broker.status.filter')
    const received = new Promise<{ topic: string, payload: string, qos: number }>((resolve) => {
      client.once('message', (topic, payload, packet) => { resolve({ topic, payload: payload.toString(), qos: packet.qos }) })
    })
    const subscribedNow = nextSubscribe(broker)
    await client.subscribeAsync('flow/mqttjs', { qos: 1 })
    await subscribedNow
    helper.getNode('out1').receive({ topic: 'flow/mqttjs', payload: 7, qos: 1 })
    assert.deepEqual(await received, { topic: 'flow/mqttjs', payload: '7', qos: 1 })
    const got = collect(helper.getNode('sink'), 1)
    await client.publishAsync('ext/from-mqttjs', Buffer.from([0, 1, 2, 255]), { qos: 1 })
    assert.deepEqual((await got)[0]?.payload, Buffer.from([0, 1, 2, 255]))
    await client.endAsync()
  })
})
