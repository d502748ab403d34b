// An embedded roost-broker in a cluster, loaded with node-red-node-test-helper: the NATS login comes
// from the node's credentials, the nodes' status says when the broker cannot reach NATS and serves
// its own clients alone, and the sidebar's GET /roost/live gives the node's name and its link.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { LIVE_VIEW_PATH } from '../../nodes/sidebar/runtime'
import { type NatsServer, startNatsServer } from '../cluster/nats-server'
import { embeddedBroker, type FlowNode, freePort, helper, listeningBroker, roost, startServer, stopServer } from './support'

type StatusSpy = { _NodePrototype: { status: { getCalls: () => Array<{ thisValue: { id: string }, args: unknown[] }> } } }

/** The last status the node with this id showed. */
function lastStatus (id: string): unknown {
  const calls = (helper as unknown as StatusSpy)._NodePrototype.status.getCalls()
  return calls.filter((call) => call.thisValue.id === id).map((call) => call.args[0]).at(-1)
}

async function clusterView (id: string): Promise<unknown> {
  const body = (await helper.request().get(LIVE_VIEW_PATH).expect(200)).body as { brokers: Array<{ id: string, cluster: unknown }> }
  return body.brokers.find((entry) => entry.id === id)?.cluster
}

/** A clustered broker and a roost in on it. */
function clusterFlow (id: string, natsUrl: string): FlowNode[] {
  const broker = embeddedBroker(id, { clusterEnabled: true, clusterServers: natsUrl, clusterNodeId: `${id}-node` })
  return [broker, { id: `${id}-in`, type: 'roost in', broker: id, topic: 'plant/#', qos: '0', datatype: 'utf8', wires: [] }]
}

/** The broker's NATS login, in its credentials. */
function credentials (id: string): Record<string, Record<string, string>> {
  return { [id]: { clusterUser: 'roost', clusterPassword: 'node-s3cret' } }
}

describe('an embedded broker in a cluster', () => {
  let nats: NatsServer | undefined
  before(async () => { await startServer() })
  after(async () => { await stopServer() })
  afterEach(async () => {
    await helper.unload()
    await nats?.stop()
    nats = undefined
  })

  it('logs in to NATS with the credentials and shows its clients; the sidebar names the node, connected', async () => {
    nats = await startNatsServer({ config: ['authorization { users: [ { user: roost, password: "node-s3cret" } ] }'] })
    await helper.load(roost, clusterFlow('cb1', nats.url), credentials('cb1'))
    const { broker } = await listeningBroker('cb1')
    assert.equal(broker.clusterState, 'connected')
    assert.deepEqual(lastStatus('cb1-in'), { fill: 'green', shape: 'dot', text: 'roost-broker.status.filter' })
    assert.deepEqual(await clusterView('cb1'), { state: 'connected', nodeId: 'cb1-node' })
  })

  it('without NATS the nodes say the broker serves alone, and go back to green once NATS is there', async () => {
    const port = await freePort()
    await helper.load(roost, clusterFlow('cb2', `nats://127.0.0.1:${port}`), credentials('cb2'))
    const { broker } = await listeningBroker('cb2')
    const transport = (helper.getNode('cb2') as unknown as { transport: EmbeddedTransport }).transport
    assert.equal(broker.clusterState, 'disconnected')
    assert.deepEqual(lastStatus('cb2-in'), { fill: 'yellow', shape: 'dot', text: 'roost-broker.status.cluster-alone' })
    assert.deepEqual(await clusterView('cb2'), { state: 'disconnected', nodeId: 'cb2-node' })

    nats = await startNatsServer({ port, config: ['authorization { users: [ { user: roost, password: "node-s3cret" } ] }'] })
    // Read through a function: the state changes under the test, which the compiler cannot know.
    const state = (): string => broker.clusterState
    for (let i = 0; i < 500 && state() !== 'connected'; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(state(), 'connected')
    transport.checkCluster()
    assert.deepEqual(lastStatus('cb2-in'), { fill: 'green', shape: 'dot', text: 'roost-broker.status.filter' })
  })
})
