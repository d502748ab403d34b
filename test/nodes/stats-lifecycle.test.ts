// Redeploys with roost sys and roost presence on an embedded broker: no broker event listener,
// $SYS subscription, sidebar history or timer is left behind, and a presence node redeployed on
// its own finds the clients that are already connected.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { BrokerNode } from '../../nodes/broker/runtime'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { watchedBrokerCount } from '../../nodes/sidebar/runtime'
import { embeddedBroker, type FlowNode, freePort, helper, type Msg, portIsFree, roost, startServer, stopServer } from './support'

const DEPLOYS = 20

function flowOn (port: number, presenceName = ''): FlowNode[] {
  return [
    embeddedBroker('b1', { port, sysInterval: 1 }),
    { id: 'sys1', type: 'roost sys', broker: 'b1', interval: '1', wires: [['sink']] },
    { id: 'p1', type: 'roost presence', name: presenceName, broker: 'b1', events: true, pattern: 'tasmota', wires: [['sink']] },
    { id: 'sink', type: 'helper' }
  ]
}

function transportOf (id: string): EmbeddedTransport {
  return (helper.getNode(id) as unknown as BrokerNode).transport as EmbeddedTransport
}

function timerCount (): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
}

async function deploy (flow: unknown[], type: 'full' | 'nodes'): Promise<void> {
  const started = new Promise<void>((resolve) => { (helper as unknown as { _events: { once: (event: string, listener: () => void) => void } })._events.once('flows:started', () => { resolve() }) })
  await helper._redNodes.setFlows(flow, {}, type)
  await started
}

describe('lifecycle with roost sys and roost presence', () => {
  before(startServer)
  after(stopServer)

  it(`${DEPLOYS} full deploys: listeners, subscriptions, histories and timers stay flat`, async () => {
    const port = await freePort()
    const baselineTimers = timerCount()
    await helper.load(roost, flowOn(port))
    for (let i = 0; i < DEPLOYS; i++) {
      const previous = transportOf('b1')
      await deploy(flowOn(port), 'full')
      const transport = transportOf('b1')
      assert.notEqual(transport, previous)
      await transport.ready()
      assert.equal(previous.broker.listenerCount('clientConnected'), 0, 'the old broker kept a listener')
      // One from the transport, one from roost presence.
      assert.equal(transport.broker.listenerCount('clientConnected'), 2)
      assert.equal(transport.broker.listenerCount('clientDisconnected'), 2)
      // roost presence subscribes to tele/+/LWT in process; roost sys needs no subscription here.
      assert.equal(transport.broker.subscriptionCount, 1)
      assert.equal(watchedBrokerCount(), 1)
      // Per deploy: the broker's $SYS clock, the sidebar history, the roost sys interval, plus
      // what the runtime keeps; a leak per deploy would grow past this.
      assert.ok(timerCount() <= baselineTimers + 6, `${timerCount()} timers after deploy ${i}`)
    }
    await helper.unload()
    assert.equal(watchedBrokerCount(), 0)
    assert.ok(timerCount() <= baselineTimers + 3, `${timerCount()} timers after the last stop`)
    assert.equal(await portIsFree(port), true)
  })

  it('roost presence redeployed on its own lists the clients already connected', async () => {
    const port = await freePort()
    await helper.load(roost, flowOn(port, 'first'))
    const transport = transportOf('b1')
    await transport.ready()
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'early-bird', reconnectPeriod: 0 })
    try {
      await deploy(flowOn(port, 'second'), 'nodes')
      assert.equal(transportOf('b1'), transport, 'the broker kept running')
      // The sink also gets roost sys figures every second: wait for the list itself.
      const listed = new Promise<Msg>((resolve) => {
        const onInput = (msg: Msg): void => { if (msg.topic === 'presence') { helper.getNode('sink').removeListener('input', onInput); resolve(msg) } }
        helper.getNode('sink').on('input', onInput)
      })
      helper.getNode('p1').receive({ action: 'list' })
      const list = await listed
      assert.deepEqual((list?.payload as Array<Record<string, string>>).map((e) => [e.id, e.state, e.reason, e.source]), [['early-bird', 'online', 'connected', 'client']])
    } finally {
      await client.endAsync()
      await helper.unload()
    }
  })
})
