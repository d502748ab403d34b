// Bad messages into roost out end in done(err), which a Catch node receives with the msg.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { collect, embeddedBroker, helper, roost, startServer, stopServer } from './support'

function catchFlow (outExtra: Record<string, unknown> = {}, brokerExtra: Record<string, unknown> = {}): Array<Record<string, unknown> & { id: string, type: string }> {
  return [
    { id: 'tab', type: 'tab', label: 'errors' },
    { ...embeddedBroker('b1', brokerExtra), z: undefined },
    { id: 'out1', type: 'roost out', z: 'tab', broker: 'b1', topic: '', qos: '', retain: '', ...outExtra },
    { id: 'catch1', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' }
  ].map((node) => { const copy = { ...node }; if (copy.z === undefined) delete copy.z; return copy })
}

describe('roost out errors reach a Catch node', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  const cases: Array<[string, Record<string, unknown>, string, Record<string, unknown>?, Record<string, unknown>?]> = [
    ['no topic', { payload: 'x' }, 'roost-out.errors.no-topic'],
    ['an empty topic', { topic: '', payload: 'x' }, 'roost-out.errors.no-topic'],
    ['a + wildcard in the topic [MQTT-3.3.2-2]', { topic: 'a/+/c', payload: 'x' }, 'roost-out.errors.topic-wildcard'],
    ['a # wildcard in the topic [MQTT-3.3.2-2]', { topic: 'a/#', payload: 'x' }, 'roost-out.errors.topic-wildcard'],
    ['a U+0000 in the topic [MQTT-4.7.3-2]', { topic: 'a\u0000b', payload: 'x' }, 'roost-out.errors.invalid-topic'],
    ['a QoS that is not 0, 1 or 2', { topic: 't', payload: 'x', qos: 3 }, 'roost-out.errors.invalid-qos'],
    ['a payload over message_size_limit', { topic: 't', payload: Buffer.alloc(101) }, 'roost-out.errors.payload-too-large', {}, { messageSizeLimit: 100 }],
    ['a response topic with a wildcard [MQTT-3.3.2-14]', { topic: 't', payload: 'x', responseTopic: 'r/#' }, 'roost-out.errors.invalid-properties'],
    ['a negative message expiry interval', { topic: 't', payload: 'x', messageExpiryInterval: -1 }, 'roost-out.errors.invalid-properties']
  ]
  for (const [what, msg, key, outExtra, brokerExtra] of cases) {
    it(`${what} → done(err) "${key}"`, async () => {
      await helper.load(roost, catchFlow(outExtra, brokerExtra))
      const caught = collect(helper.getNode('caught'), 1)
      helper.getNode('out1').receive(msg)
      const [got] = await caught
      // Node-RED hands the Catch node the error as text: "Error: <message>".
      assert.equal(got?.error?.message, `Error: ${key}`)
      assert.equal(got?.error?.source?.id, 'out1')
      assert.deepEqual(got?.payload, msg.payload)
    })
  }

  it('a payload of exactly message_size_limit bytes is published', async () => {
    const flow = [...catchFlow({}, { messageSizeLimit: 100 }),
      { id: 'in1', type: 'roost in', z: 'tab', broker: 'b1', topic: 't', qos: '0', datatype: 'buffer', wires: [['sink']] },
      { id: 'sink', type: 'helper', z: 'tab' }]
    await helper.load(roost, flow)
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 't', payload: Buffer.alloc(100, 7) })
    assert.deepEqual((await got)[0]?.payload, Buffer.alloc(100, 7))
  })

  it('a msg without a payload property publishes nothing and raises nothing', async () => {
    const flow = [...catchFlow(),
      { id: 'in1', type: 'roost in', z: 'tab', broker: 'b1', topic: '#', qos: '0', datatype: 'utf8', wires: [['sink']] },
      { id: 'sink', type: 'helper', z: 'tab' }]
    await helper.load(roost, flow)
    const got = collect(helper.getNode('sink'), 1)
    let caught = 0
    helper.getNode('caught').on('input', () => { caught++ })
    helper.getNode('out1').receive({ topic: 'first' })
    helper.getNode('out1').receive({ topic: 'second', payload: 'marker' })
    const [msg] = await got
    assert.equal(msg?.topic, 'second')
    assert.equal(caught, 0)
  })
})
