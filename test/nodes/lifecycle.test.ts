// Redeploying a flow with an embedded broker: the port is free after every stop, a new deploy
// binds it again without "port in use", closing never times out, and no handle, timer or
// event listener is left behind.
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { BrokerNode } from '../../nodes/broker/runtime'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { embeddedBroker, type FlowNode, freePort, helper, portIsFree, roost, startServer, stopServer } from './support'

const DEPLOYS = 50

function flowOn (port: number, sysInterval = 0): Array<Record<string, unknown> & { id: string, type: string }> {
  return [
    embeddedBroker('b1', { port, sysInterval }),
    { id: 'out1', type: 'roost out', broker: 'b1', topic: 'life/cycle', qos: '1', retain: '' },
    { id: 'in1', type: 'roost in', broker: 'b1', topic: 'life/#', qos: '1', datatype: 'utf8', wires: [['sink']] },
    { id: 'sink', type: 'helper' }
  ]
}

function transportOf (id: string): EmbeddedTransport {
  const node = helper.getNode(id) as unknown as BrokerNode
  assert.equal(node.transport?.kind, 'embedded')
  return node.transport as EmbeddedTransport
}

/** A client connects over TCP, so that stopping the flow also has a live socket to close. */
async function connectClient (port: number): Promise<mqtt.MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, clientId: 'lifecycle-probe' })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => { resolve() })
    client.once('error', reject)
  })
  return client
}

/** Servers and sockets alive now: what a leaked broker or connection would leave behind. */
function handleCounts (): string {
  return process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap' && kind !== 'FSReqCallback' && kind !== 'Timeout').sort().join(',')
}

/**
 * Timers alive now. The runtime and the test client keep one short-lived timer that comes and
 * goes between deploys, so the check is that the count does not grow with the deploys: a timer
 * leaked per deploy would reach 50.
 */
function timerCount (): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
}
const MAX_TIMERS = 3

function loggedProblems (): string[] {
  return helper.log().args.map((args) => JSON.stringify(args[0]))
    .filter((line) => /timed out|EADDRINUSE|address already in use/i.test(line))
}

/** Deploys through the runtime as the editor's Deploy button does, and waits for the start. */
async function deploy (flow: unknown[], type: 'full' | 'nodes'): Promise<void> {
  const started = new Promise<void>((resolve) => { (helper as unknown as { _events: { once: (event: string, listener: () => void) => void } })._events.once('flows:started', () => { resolve() }) })
  await helper._redNodes.setFlows(flow, {}, type)
  await started
}

describe(`lifecycle: ${DEPLOYS} deploys in a row`, () => {
  before(startServer)
  after(stopServer)

  it(`start and stop ${DEPLOYS} times: the port is free after every stop, handles stay flat`, async () => {
    const port = await freePort()
    let baseline: string | undefined
    for (let i = 0; i < DEPLOYS; i++) {
      await helper.load(roost, flowOn(port))
      const transport = transportOf('b1')
      await transport.ready()
      assert.equal(transport.status.state, 'connected', `deploy ${i}: ${transport.status.error ?? ''}`)
      const client = await connectClient(port)
      const closed = new Promise<void>((resolve) => { client.once('close', () => { resolve() }) })
      assert.equal(transport.broker.listenerCount('clientConnected'), 1)
      await helper.unload()
      await closed
      client.end(true)
      assert.equal(await portIsFree(port), true, `port ${port} still bound after stop ${i}`)
      assert.deepEqual(loggedProblems(), [])
      if (i === 1) baseline = handleCounts()
      if (i > 1) assert.equal(handleCounts(), baseline, `handles after stop ${i}`)
      assert.ok(timerCount() <= MAX_TIMERS, `${timerCount()} timers after stop ${i}`)
    }
  })

  it(`full deploy and modified-nodes deploy ${DEPLOYS} times on one port: no "port in use", listeners flat`, async () => {
    const port = await freePort()
    await helper.load(roost, flowOn(port))
    await transportOf('b1').ready()
    let baseline: string | undefined
    const processListeners = (): number => process.listenerCount('exit') + process.listenerCount('uncaughtException') + process.listenerCount('SIGINT')
    const processBaseline = processListeners()
    for (let i = 0; i < DEPLOYS; i++) {
      const previous = transportOf('b1')
      // Alternate: a full deploy of the same flow, then a changed broker node in "modified nodes" mode.
      if (i % 2 === 0) await deploy(flowOn(port, i % 4), 'full')
      else await deploy(flowOn(port, (i % 4) + 1), 'nodes')
      const transport = transportOf('b1')
      assert.notEqual(transport, previous, `deploy ${i} did not restart the broker`)
      await transport.ready()
      assert.equal(transport.status.state, 'connected', `deploy ${i}: ${transport.status.error ?? ''}`)
      assert.equal(previous.status.state, 'disconnected')
      assert.equal(previous.broker.listenerCount('clientConnected'), 0, 'old broker kept a listener')
      assert.equal(transport.broker.listenerCount('clientConnected'), 1)
      assert.equal(transport.broker.listenerCount('clientDisconnected'), 1)
      // The new broker works: a message goes round the flow.
      const got = new Promise((resolve) => { helper.getNode('sink').once('input', resolve) })
      helper.getNode('out1').receive({ payload: `deploy ${i}` })
      assert.equal(((await got) as { payload: string }).payload, `deploy ${i}`)
      assert.equal(processListeners(), processBaseline)
      assert.deepEqual(loggedProblems(), [])
      if (i === 1) baseline = handleCounts()
      if (i > 1) assert.equal(handleCounts(), baseline, `handles after deploy ${i}`)
      assert.ok(timerCount() <= MAX_TIMERS, `${timerCount()} timers after deploy ${i}`)
    }
    await helper.unload()
    assert.equal(await portIsFree(port), true)
  })

  it('a port already in use: the broker node reports it and the nodes show "failed", nothing crashes', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => { blocker.listen(0, '127.0.0.1', resolve) })
    const port = (blocker.address() as net.AddressInfo).port
    await helper.load(roost, flowOn(port))
    const transport = transportOf('b1')
    await transport.ready()
    assert.equal(transport.status.state, 'disconnected')
    assert.match(transport.status.error ?? '', /EADDRINUSE/)
    // The last status the in node showed, from the helper's record of node.status() calls.
    const spy = (helper as unknown as { _NodePrototype: { status: { getCalls: () => Array<{ thisValue: { id: string }, args: unknown[] }> } } })._NodePrototype.status
    const shown = spy.getCalls().filter((call) => call.thisValue.id === 'in1').map((call) => call.args[0])
    assert.deepEqual(shown.at(-1), { fill: 'red', shape: 'ring', text: 'roost-broker.status.failed' })
    const logged = helper.log().args.map((args) => args[0] as { level: number, msg: string })
    assert.ok(logged.some((entry) => entry.msg === 'roost-broker.errors.listen-failed'))
    await helper.unload()
    await new Promise<void>((resolve) => { blocker.close(() => { resolve() }) })
    assert.equal(await portIsFree(port), true)
  })

  it(`modified-nodes deploy of only roost in, ${DEPLOYS} times: the broker keeps running, subscriptions do not pile up`, async () => {
    const port = await freePort()
    const withTopic = (topic: string): FlowNode[] => flowOn(port).map((node) => node.id === 'in1' ? { ...node, topic } : node)
    await helper.load(roost, withTopic('life/0'))
    const transport = transportOf('b1')
    await transport.ready()
    for (let i = 1; i <= DEPLOYS; i++) {
      await deploy(withTopic(`life/${i}`), 'nodes')
      assert.equal(transportOf('b1'), transport, 'the broker was restarted although it did not change')
      assert.equal(transport.broker.subscriptionCount, 1)
      const got = new Promise((resolve) => { helper.getNode('sink').once('input', resolve) })
      transport.broker.publish({ topic: `life/${i - 1}`, payload: 'old topic' })
      transport.broker.publish({ topic: `life/${i}`, payload: 'new topic' })
      assert.equal(((await got) as { payload: string }).payload, 'new topic')
    }
    await helper.unload()
  })

  it('invalid broker settings are reported, and the nodes using it say their broker is missing', async () => {
    await helper.load(roost, flowOn(0).map((node) => node.id === 'b1' ? { ...node, maxInflightMessages: 70000 } : node))
    const logged = helper.log().args.map((args) => (args[0] as { msg: string }).msg)
    assert.ok(logged.includes('roost-broker.errors.invalid-config'), logged.join('\n'))
    assert.ok(logged.includes('roost-in.errors.missing-config'))
    assert.ok(logged.includes('roost-out.errors.missing-config'))
    await helper.unload()
  })
})
