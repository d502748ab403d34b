// roost in ↔ roost out through an embedded broker, in process: QoS, retain, wildcards,
// shared subscriptions and every output type of core `mqtt in`.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { collect, embeddedBroker, helper, roost, startServer, stopServer } from './support'

function loopFlow (inTopic: string, extraIn: Record<string, unknown> = {}, extraOut: Record<string, unknown> = {}): Array<Record<string, unknown> & { id: string, type: string }> {
  return [
    embeddedBroker('b1'),
    { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '', retain: '', ...extraOut },
    { id: 'in1', type: 'roost in', broker: 'b1', topic: inTopic, qos: '2', datatype: 'auto-detect', wires: [['sink']], ...extraIn },
    { id: 'sink', type: 'helper' }
  ]
}

describe('roost in / roost out in process', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  for (const qos of [0, 1, 2] as const) {
    it(`round trip at QoS ${qos} keeps topic, payload, qos and retain`, async () => {
      await helper.load(roost, loopFlow('home/+/temp'))
      const got = collect(helper.getNode('sink'), 1)
      helper.getNode('out1').receive({ topic: 'home/kitchen/temp', payload: 'twenty-one', qos })
      const [msg] = await got
      assert.equal(msg?.topic, 'home/kitchen/temp')
      assert.equal(msg?.payload, 'twenty-one')
      assert.equal(msg?.qos, qos)
      assert.equal(msg?.retain, false)
    })
  }

  it('granted QoS is the lesser of publish and subscription QoS [MQTT-3.8.4-8]', async () => {
    await helper.load(roost, loopFlow('a/#', { qos: '1' }))
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 'a/b', payload: 'x', qos: 2 })
    assert.equal((await got)[0]?.qos, 1)
  })

  it('a retained message reaches a subscriber that subscribes later, with retain set [MQTT-3.3.1-6]', async () => {
    await helper.load(roost, loopFlow('', { dynamic: true, topic: '' }))
    const inNode = helper.getNode('in1')
    const outNode = helper.getNode('out1')
    const published = new Promise((resolve) => { outNode.on('call:status', resolve) })
    await published
    outNode.receive({ topic: 'state/lamp', payload: 'on', retain: true, qos: 1 })
    const got = collect(helper.getNode('sink'), 1)
    await new Promise((resolve) => setImmediate(resolve))
    inNode.receive({ action: 'subscribe', topic: 'state/#' })
    const [msg] = await got
    assert.deepEqual({ topic: msg?.topic, payload: msg?.payload, retain: msg?.retain, qos: msg?.qos }, { topic: 'state/lamp', payload: 'on', retain: true, qos: 1 })
  })

  it('node settings override msg topic, qos and retain', async () => {
    await helper.load(roost, loopFlow('fixed/topic', {}, { topic: 'fixed/topic', qos: '1', retain: 'false' }))
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 'ignored', payload: 'p', qos: 0, retain: true })
    const [msg] = await got
    assert.deepEqual({ topic: msg?.topic, qos: msg?.qos, retain: msg?.retain }, { topic: 'fixed/topic', qos: 1, retain: false })
  })

  it('+ and # wildcards match as MQTT says, and # does not match $ topics [MQTT-4.7.2-1]', async () => {
    await helper.load(roost, loopFlow('#'))
    const got = collect(helper.getNode('sink'), 2)
    const out = helper.getNode('out1')
    out.receive({ topic: '$internal/x', payload: 'hidden' })
    out.receive({ topic: 'a', payload: 1 })
    out.receive({ topic: 'a/b/c', payload: 2 })
    const msgs = await got
    assert.deepEqual(msgs.map((m) => [m.topic, m.payload]), [['a', 1], ['a/b/c', 2]])
  })

  it('$share/<group>/filter: one member of the group gets each message [MQTT-4.8.2]', async () => {
    const flow = [
      ...loopFlow('$share/workers/jobs/+', { datatype: 'utf8', qos: '1' }),
      { id: 'in2', type: 'roost in', broker: 'b1', topic: '$share/workers/jobs/+', qos: '1', datatype: 'utf8', wires: [['sink']] }
    ]
    await helper.load(roost, flow)
    const got = collect(helper.getNode('sink'), 10)
    const out = helper.getNode('out1')
    for (let i = 0; i < 10; i++) out.receive({ topic: `jobs/${i}`, payload: String(i), qos: 1 })
    const msgs = await got
    assert.deepEqual(msgs.map((m) => m.payload).sort((a, b) => Number(a) - Number(b)), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    // Exactly ten: no message went to both members.
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(msgs.length, 10)
  })

  const outputCases: Array<[string, unknown, unknown]> = [
    ['auto-detect', { a: 1 }, { a: 1 }],
    ['auto-detect', 'plain text', 'plain text'],
    ['auto-detect', Buffer.from([0xff, 0xfe, 0x00]), Buffer.from([0xff, 0xfe, 0x00])],
    ['utf8', { a: 1 }, '{"a":1}'],
    ['buffer', 'abc', Buffer.from('abc')],
    ['json', '{"n":[1,2]}', { n: [1, 2] }],
    ['base64', 'hello', 'aGVsbG8='],
    ['auto-detect', 42, 42],
    ['utf8', true, 'true']
  ]
  for (const [datatype, sent, expected] of outputCases) {
    it(`output type ${datatype}: ${JSON.stringify(sent)} arrives as ${JSON.stringify(expected)}`, async () => {
      await helper.load(roost, loopFlow('t', { datatype }))
      const got = collect(helper.getNode('sink'), 1)
      helper.getNode('out1').receive({ topic: 't', payload: sent })
      assert.deepEqual((await got)[0]?.payload, expected)
    })
  }

  it('output type json reports text that is not JSON through node.error with the msg', async () => {
    await helper.load(roost, loopFlow('t', { datatype: 'json' }))
    const inNode = helper.getNode('in1')
    const reported = new Promise<{ args: unknown[] }>((resolve) => { inNode.on('call:error', resolve) })
    helper.getNode('out1').receive({ topic: 't', payload: 'not json' })
    const call = await reported
    assert.equal(call.args[0], 'roost-in.errors.invalid-json-parse')
    assert.equal((call.args[1] as { payload: Buffer }).payload.toString(), 'not json')
  })

  it('MQTT 5 properties from msg arrive as msg fields', async () => {
    await helper.load(roost, loopFlow('rpc/req', { datatype: 'auto-detect' }))
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({
      topic: 'rpc/req',
      payload: '{"x":1}',
      contentType: 'application/json',
      responseTopic: 'rpc/resp/7',
      correlationData: Buffer.from('c7'),
      messageExpiryInterval: 30,
      userProperties: { source: 'kitchen', n: 3 }
    })
    const [msg] = await got
    assert.deepEqual(msg?.payload, { x: 1 })
    assert.equal(msg?.contentType, 'application/json')
    assert.equal(msg?.responseTopic, 'rpc/resp/7')
    assert.deepEqual(msg?.correlationData, Buffer.from('c7'))
    assert.equal(msg?.messageExpiryInterval, 30)
    assert.deepEqual(msg?.userProperties, { source: 'kitchen', n: '3' })
  })

  it('MQTT 5 properties set on roost out go with every message and win over msg', async () => {
    await helper.load(roost, loopFlow('rpc/req', { datatype: 'utf8' }, { contentType: 'text/plain', respTopic: 'rpc/resp', correl: 'node-id', expiry: '90', userProps: '{"site":"lab"}' }))
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 'rpc/req', payload: 'hi', contentType: 'application/json', responseTopic: 'ignored/by/node' })
    const [msg] = await got
    assert.deepEqual(
      { contentType: msg?.contentType, responseTopic: msg?.responseTopic, correlationData: msg?.correlationData, messageExpiryInterval: msg?.messageExpiryInterval, userProperties: msg?.userProperties },
      { contentType: 'text/plain', responseTopic: 'rpc/resp', correlationData: Buffer.from('node-id'), messageExpiryInterval: 90, userProperties: { site: 'lab' } })
  })

  it('a roost out whose user properties are not a JSON object says so when it starts', async () => {
    await helper.load(roost, loopFlow('t', {}, { userProps: '[1,2]' }))
    const logged = helper.log().args.map((args) => (args[0] as { msg: string }).msg)
    assert.ok(logged.includes('roost-out.errors.invalid-properties'), logged.join('\n'))
  })

  it('under an embedded broker roost out shows "connected" and roost in its subscriptions, not the client count', async () => {
    await helper.load(roost, loopFlow('t'))
    const green = (id: string): Promise<unknown> => new Promise((resolve) => {
      helper.getNode(id).on('call:status', (call: { args: unknown[] }) => { if ((call.args[0] as { fill: string }).fill === 'green') resolve(call.args[0]) })
    })
    const [outStatus, inStatus] = await Promise.all([green('out1'), green('in1')])
    assert.deepEqual(outStatus, { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' })
    assert.deepEqual(inStatus, { fill: 'green', shape: 'dot', text: 'roost-broker.status.filter' })
  })
})
