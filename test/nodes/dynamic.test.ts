// roost in with dynamic subscriptions: msg.action subscribe / unsubscribe / getSubscriptions,
// with the message shapes of core `mqtt in`.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { collect, embeddedBroker, helper, roost, startServer, stopServer } from './support'

const flow = [
  embeddedBroker('b1'),
  { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '', retain: '' },
  { id: 'in1', type: 'roost in', broker: 'b1', topic: '', qos: '2', datatype: 'utf8', dynamic: true, inputs: 1, wires: [['sink']] },
  { id: 'sink', type: 'helper' }
]

function act (node: { receive: (msg: Record<string, unknown>) => void, on: (event: string, listener: (call: { args: unknown[] }) => void) => void }, msg: Record<string, unknown>): Promise<unknown[]> {
  return new Promise((resolve) => {
    // done(err) reaches Node-RED as node.error(err, msg), which the helper records.
    node.on('call:error', (call) => { resolve(call.args) })
    node.receive(msg)
  })
}

describe('roost in dynamic subscriptions', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('subscribe with a string, an object and an array; msg.subscriptions lists them', async () => {
    await helper.load(roost, flow)
    const inNode = helper.getNode('in1')
    const seen: Array<Record<string, unknown>> = []
    const msg1: Record<string, any> = { action: 'subscribe', topic: 'a/#' }
    inNode.receive(msg1)
    const msg2: Record<string, any> = { action: 'subscribe', topic: [{ topic: 'b/+', qos: 1, datatype: 'json' }, 'c'] }
    inNode.receive(msg2)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(msg1.subscriptions, [{ topic: 'a/#', qos: 2 }])
    assert.deepEqual(msg2.subscriptions, [{ topic: 'a/#', qos: 2 }, { topic: 'b/+', qos: 1, datatype: 'json' }, { topic: 'c', qos: 2 }])
    const got = collect(helper.getNode('sink'), 3)
    const out = helper.getNode('out1')
    out.receive({ topic: 'a/1', payload: 'A' })
    out.receive({ topic: 'b/2', payload: '{"v":2}', qos: 2 })
    out.receive({ topic: 'c', payload: 'C' })
    for (const msg of await got) seen.push({ topic: msg.topic, payload: msg.payload, qos: msg.qos })
    assert.deepEqual(seen, [{ topic: 'a/1', payload: 'A', qos: 0 }, { topic: 'b/2', payload: { v: 2 }, qos: 1 }, { topic: 'c', payload: 'C', qos: 0 }])
  })

  it('getSubscriptions sends topic "subscriptions" with the list as payload', async () => {
    await helper.load(roost, flow)
    const inNode = helper.getNode('in1')
    inNode.receive({ action: 'subscribe', topic: ['x', 'y/#'] })
    const got = collect(helper.getNode('sink'), 1)
    inNode.receive({ action: 'getSubscriptions' })
    const [msg] = await got
    assert.equal(msg?.topic, 'subscriptions')
    assert.deepEqual(msg?.payload, [{ topic: 'x', qos: 2 }, { topic: 'y/#', qos: 2 }])
  })

  it('subscribing twice to one topic replaces the subscription: one copy per message', async () => {
    await helper.load(roost, flow)
    const inNode = helper.getNode('in1')
    inNode.receive({ action: 'subscribe', topic: 'dup' })
    inNode.receive({ action: 'subscribe', topic: { topic: 'dup', qos: 0 } })
    const got = collect(helper.getNode('sink'), 2)
    const out = helper.getNode('out1')
    out.receive({ topic: 'dup', payload: 'one' })
    out.receive({ topic: 'dup', payload: 'two' })
    assert.deepEqual((await got).map((m) => m.payload), ['one', 'two'])
  })

  it('unsubscribe one topic, then msg.topic === true unsubscribes all', async () => {
    await helper.load(roost, flow)
    const inNode = helper.getNode('in1')
    inNode.receive({ action: 'subscribe', topic: ['keep', 'drop'] })
    const msg: Record<string, any> = { action: 'unsubscribe', topic: 'drop' }
    inNode.receive(msg)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(msg.subscriptions, [{ topic: 'keep', qos: 2 }])
    const got = collect(helper.getNode('sink'), 1)
    const out = helper.getNode('out1')
    out.receive({ topic: 'drop', payload: 'lost' })
    out.receive({ topic: 'keep', payload: 'kept' })
    assert.equal((await got)[0]?.payload, 'kept')
    const all: Record<string, any> = { action: 'unsubscribe', topic: true }
    inNode.receive(all)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(all.subscriptions, [])
  })

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown action', { action: 'explode' }, 'roost-in.errors.invalid-action'],
    ['a subscribe without a topic', { action: 'subscribe', topic: 42 }, 'roost-in.errors.invalid-subscription'],
    ['a filter with # in the middle [MQTT-4.7.1-2]', { action: 'subscribe', topic: 'a/#/b' }, 'roost-in.errors.invalid-topic'],
    ['a filter with a partial + level [MQTT-4.7.1-3]', { action: 'subscribe', topic: ['ok', 'a+'] }, 'roost-in.errors.invalid-topic']
  ]
  for (const [what, msg, key] of bad) {
    it(`${what} → done(err) "${key}"`, async () => {
      await helper.load(roost, flow)
      const args = await act(helper.getNode('in1'), msg)
      assert.equal((args[0] as Error).message, key)
    })
  }
})
