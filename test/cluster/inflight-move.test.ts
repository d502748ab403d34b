// Messages in flight move with their session (lib/cluster/session-consumers.ts): JetStream keeps a
// message until the client completes it (PUBACK for QoS 1, PUBCOMP for QoS 2), and the node gives
// back what its client left unacknowledged. A raw 3.1.1 client on node A receives QoS 1 and 2
// messages and acknowledges none of them (one QoS 2 only with PUBREC), then its session goes to node
// B (after going offline, or by a takeover while still connected): an MQTT.js client there gets
// every one of them, once. Real nats-server -js, the test's raw client, MQTT.js.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import { ClientPool } from '../clients/support'
import { RawClient } from '../helpers/raw-client'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, until, within } from './support'

let nats: NatsServer
const pool = new ClientPool()
const raws: RawClient[] = []

before(async () => { nats = await startNatsServer() })
after(async () => { await nats.stop() })
afterEach(async () => {
  await Promise.all(raws.splice(0).map(async (raw) => { await raw.destroy() }))
  await pool.endAll()
})

/** Payloads published, by QoS. */
const QOS1 = ['h1', 'h2', 'h3']
const QOS2 = ['k1', 'k2']

for (const move of ['offline', 'takeover'] as const) {
  test(`unacknowledged messages on A reach the session on B (${move === 'offline' ? 'the client went offline first' : 'taken over while connected'})`, async (t) => {
    const a = await startNode(t, nats, `${move}-a`)
    const b = await startNode(t, nats, `${move}-b`)
    const c = await startNode(t, nats, `${move}-c`)
    const clientId = `holder-${move}`
    const raw = await RawClient.open(a.port)
    raws.push(raw)
    await raw.connect({ clientId, clean: false })
    await raw.subscribe('held/#', 2)
    await settle(a.broker, b.broker, c.broker)

    const pub = (await pool.connect(c.port, { clientId: `pub-${move}` })).client
    for (const payload of QOS1) await pub.publishAsync('held/one', payload, { qos: 1 })
    for (const payload of QOS2) await pub.publishAsync('held/two', payload, { qos: 2 })
    // Every message reaches the client on A, which acknowledges none; k1 only with PUBREC.
    const seen: string[] = []
    for (let i = 0; i < QOS1.length + QOS2.length; i++) {
      const packet = await within(raw.next(), 'PUBLISH on A') as mqttPacket.IPublishPacket
      assert.equal(packet.cmd, 'publish')
      const payload = packet.payload.toString()
      seen.push(payload)
      if (payload === 'k1') raw.send({ cmd: 'pubrec', messageId: packet.messageId as number })
    }
    assert.deepEqual(seen.sort(), [...QOS1, ...QOS2].sort())
    assert.equal((await within(raw.next(), 'PUBREL for k1')).cmd, 'pubrel')

    if (move === 'offline') {
      await raw.destroy()
      await until(() => !a.broker.clients().some((client) => client.clientId === clientId), 'offline on A')
    }
    const moved = await pool.connect(b.port, { clientId, clean: false, protocolVersion: 4 })
    assert.equal(moved.sessionPresent, true)
    if (move === 'takeover') await within(raw.whenClosed(), 'A closes the older connection')
    const got = await within(moved.inbox.waitFor(QOS1.length + QOS2.length), 'the held messages on B')
    assert.deepEqual(got.map((message) => message.payload.toString()).sort(), [...QOS1, ...QOS2].sort())
    // Each once: a late copy would come with the marker's round.
    await pub.publishAsync('held/end', 'marker', { qos: 1 })
    await within(moved.inbox.waitForTopic('held/end'), 'marker on B')
    assert.deepEqual(moved.inbox.messages.map((message) => message.payload.toString()).sort(), [...QOS1, ...QOS2, 'marker'].sort())
  })
}

test('QoS 1 and 2 on one node: JetStream keeps a message until its client completes it, and sends no second copy meanwhile', async (t) => {
  const a = await startNode(t, nats, 'slow-a')
  const raw = await RawClient.open(a.port)
  raws.push(raw)
  await raw.connect({ clientId: 'slow-holder', clean: false })
  await raw.subscribe('slow/#', 2)
  await settle(a.broker)
  const pub = (await pool.connect(a.port, { clientId: 'slow-pub' })).client
  await pub.publishAsync('slow/one', 'q1', { qos: 1 })
  await pub.publishAsync('slow/two', 'q2', { qos: 2 })
  const first = await within(raw.next(), 'first PUBLISH') as mqttPacket.IPublishPacket
  const second = await within(raw.next(), 'second PUBLISH') as mqttPacket.IPublishPacket
  const byPayload = new Map([[first.payload.toString(), first], [second.payload.toString(), second]])
  const q1 = byPayload.get('q1') as mqttPacket.IPublishPacket
  const q2 = byPayload.get('q2') as mqttPacket.IPublishPacket
  raw.send({ cmd: 'puback', messageId: q1.messageId as number })
  raw.send({ cmd: 'pubrec', messageId: q2.messageId as number })
  assert.deepEqual({ cmd: (await within(raw.next(), 'PUBREL')).cmd }, { cmd: 'pubrel' })
  raw.send({ cmd: 'pubcomp', messageId: q2.messageId as number })
  // [MQTT-4.3.3] nothing more for this exchange: PINGRESP comes next, no second PUBLISH.
  await settle(a.broker)
  await raw.expectNothingPending()
  // Completed: a client that goes offline and comes back finds nothing left to resend.
  await raw.destroy()
  await until(() => !a.broker.clients().some((client) => client.clientId === 'slow-holder'), 'offline')
  const back = await pool.connect(a.port, { clientId: 'slow-holder', clean: false, protocolVersion: 4 })
  assert.equal(back.sessionPresent, true)
  await pub.publishAsync('slow/end', 'marker', { qos: 1 })
  assert.deepEqual((await within(back.inbox.waitForTopic('slow/end'), 'marker')).map((message) => message.payload.toString()), ['marker'])
})
