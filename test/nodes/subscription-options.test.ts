// roost in's MQTT 5 subscription options against the embedded broker: No Local, Retain As
// Published, Retain Handling and a Subscription Identifier (MQTT 5.0, 3.8.3.1 and 3.8.2.1.2).
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { collect, embeddedBroker, helper, roost, startServer, stopServer } from './support'

interface BrokerNodeLike { transport: EmbeddedTransport }

async function brokerPort (): Promise<number> {
  const transport = (helper.getNode('b1') as unknown as BrokerNodeLike).transport
  await transport.ready()
  return transport.broker.addresses[0]?.port ?? 0
}

/** Publishes from a socket client, which is not the flow's own in-process connection. */
async function publishFromOutside (port: number, topic: string, payload: string, retain = false): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
  await client.publishAsync(topic, payload, { qos: 1, retain })
  await client.endAsync()
}

function flow (inNode: Record<string, unknown>): Array<Record<string, unknown> & { id: string, type: string }> {
  return [
    embeddedBroker('b1'),
    { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '', retain: '' },
    { id: 'in1', type: 'roost in', broker: 'b1', qos: '1', datatype: 'utf8', wires: [['sink']], ...inNode },
    { id: 'sink', type: 'helper' }
  ]
}

describe('roost in subscription options on the embedded broker', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('No Local leaves out what the flow publishes, not what clients publish [MQTT-3.8.3-3]', async () => {
    await helper.load(roost, flow({ topic: 'nl/t', nl: true }))
    const port = await brokerPort()
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 'nl/t', payload: 'from the flow' })
    await publishFromOutside(port, 'nl/t', 'from a client')
    assert.deepEqual((await got).map((m) => m.payload), ['from a client'])
  })

  it('Retain As Published off clears the retain flag of live messages [MQTT-3.3.1-12]', async () => {
    await helper.load(roost, flow({ topic: 'rap/#', rap: false }))
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 'rap/a', payload: 'x', retain: true })
    assert.equal((await got)[0]?.retain, false)
  })

  it('Retain As Published on (the default, as core) keeps it', async () => {
    await helper.load(roost, flow({ topic: 'rap/#' }))
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 'rap/b', payload: 'x', retain: true })
    assert.equal((await got)[0]?.retain, true)
  })

  it('Retain Handling 2: a dynamic subscription gets no retained message, only live ones', async () => {
    await helper.load(roost, flow({ topic: '', dynamic: true }))
    const port = await brokerPort()
    await publishFromOutside(port, 'rh/kept', 'stored', true)
    const got = collect(helper.getNode('sink'), 1)
    helper.getNode('in1').receive({ action: 'subscribe', topic: { topic: 'rh/#', qos: 1, rh: 2 } })
    await publishFromOutside(port, 'rh/live', 'now')
    assert.deepEqual((await got).map((m) => [m.topic, m.payload]), [['rh/live', 'now']])
  })

  it('a Subscription Identifier from the dialog comes with each message as msg.subscriptionIdentifier', async () => {
    await helper.load(roost, flow({ topic: 'id/#', subid: '42' }))
    const port = await brokerPort()
    const got = collect(helper.getNode('sink'), 1)
    await publishFromOutside(port, 'id/x', 'tagged')
    assert.deepEqual((await got).map((m) => [m.topic, m.subscriptionIdentifier]), [['id/x', 42]])
  })
})
