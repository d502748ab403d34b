// The Store seam (lib/store): what the broker records while it serves, and what it takes back at
// listen() from a store that kept it — a restart with persistent sessions, queued and inflight
// messages, inbound QoS 2 ids, retained messages, wills and expiry deadlines (MQTT 3.1.1, 4.1;
// MQTT 5.0, 3.1.2.11.2 and 3.1.3.2.2). The store here is the test's MirrorStore, which keeps
// records as a durable store would.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { MirrorStore } from '../helpers/mirror-store'
import { encode, publishPacket } from '../helpers/raw-client'
import { connectV5 } from '../mqtt5/mqttjs'

test('a restart gives back a persistent session: inflight re-sent with DUP, PUBREL, then the queue, and retained messages [MQTT-4.4.0-1]', async (t) => {
  const store = new MirrorStore()
  const a = await startBroker(t, { maxInflightMessages: 2 }, { store })
  assert.equal(store.opened, 1)
  const keeper = await a.client({ clientId: 'keeper', clean: false })
  await keeper.subscribe('q/#', 2)
  const pub = await a.client({ clientId: 'pub' })
  pub.send(publishPacket('q/1', 'one', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await keeper.expectPacket(publishPacket('q/1', 'one', 1, { messageId: 1 }))
  pub.send(publishPacket('q/2', 'two', 2, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  await keeper.expectPacket(publishPacket('q/2', 'two', 2, { messageId: 2 }))
  keeper.send({ cmd: 'pubrec', messageId: 2 })
  await keeper.expectPacket({ cmd: 'pubrel', messageId: 2 })
  // The window of 2 is full: this one waits in the queue.
  pub.send(publishPacket('q/3', 'three', 1, { messageId: 3 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 3 })
  pub.send(publishPacket('r/1', 'kept', 0, { retain: true }))
  await pub.expectNothingPending()
  await keeper.expectNothingPending()
  await a.broker.close()
  assert.equal(store.closed, 1)

  const b = await startBroker(t, { maxInflightMessages: 2 }, { store })
  const back = await b.client({ clientId: 'keeper', clean: false }, true)
  await back.expectPacket(publishPacket('q/1', 'one', 1, { messageId: 1, dup: true }))
  await back.expectPacket({ cmd: 'pubrel', messageId: 2 })
  back.send({ cmd: 'puback', messageId: 1 })
  await back.expectPacket(publishPacket('q/3', 'three', 1, { messageId: 3 }))
  back.send({ cmd: 'pubcomp', messageId: 2 })
  back.send({ cmd: 'puback', messageId: 3 })
  await back.expectNothingPending()
  // The subscription came back too.
  const pub2 = await b.client({ clientId: 'pub' })
  pub2.send(publishPacket('q/4', 'four', 1, { messageId: 4 }))
  await pub2.expectPacket({ cmd: 'puback', messageId: 4 })
  await back.expectPacket(publishPacket('q/4', 'four', 1, { messageId: 4 }))
  const late = await b.client({ clientId: 'late' })
  await late.subscribe('r/#', 0)
  await late.expectPacket(publishPacket('r/1', 'kept', 0, { retain: true }))
  assert.equal(b.broker.retainedCount, 1)
  assert.deepEqual(store.problems, [])
})

test('a QoS 2 packet id received before a restart still holds: the re-sent PUBLISH is not delivered twice [MQTT-4.3.3-2]', async (t) => {
  const store = new MirrorStore()
  const a = await startBroker(t, {}, { store })
  const sub = await a.client({ clientId: 'sub', clean: false })
  await sub.subscribe('in/#', 2)
  const pub = await a.client({ clientId: 'pub', clean: false })
  pub.send(publishPacket('in/x', 'once', 2, { messageId: 7 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 7 })
  await sub.expectPacket(publishPacket('in/x', 'once', 2, { messageId: 1 }))
  sub.send({ cmd: 'pubrec', messageId: 1 })
  await sub.expectPacket({ cmd: 'pubrel', messageId: 1 })
  sub.send({ cmd: 'pubcomp', messageId: 1 })
  await sub.expectNothingPending()
  await a.broker.close()

  const b = await startBroker(t, {}, { store })
  const sub2 = await b.client({ clientId: 'sub', clean: false }, true)
  const pub2 = await b.client({ clientId: 'pub', clean: false }, true)
  pub2.send(publishPacket('in/x', 'once', 2, { messageId: 7, dup: true }))
  await pub2.expectPacket({ cmd: 'pubrec', messageId: 7 })
  pub2.send({ cmd: 'pubrel', messageId: 7 })
  await pub2.expectPacket({ cmd: 'pubcomp', messageId: 7 })
  await sub2.expectNothingPending()
  assert.deepEqual(store.problems, [])
})

test('a message queued for two offline sessions is one body under one id; ids go on rising after a restart', async (t) => {
  const store = new MirrorStore()
  const a = await startBroker(t, {}, { store })
  for (const clientId of ['left', 'right']) {
    const client = await a.client({ clientId, clean: false })
    await client.subscribe('news', 1)
    const gone = once(a.broker, 'clientDisconnected')
    await client.disconnect()
    await gone
  }
  const pub = await a.client({ clientId: 'pub' })
  pub.send(publishPacket('news', 'shared', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  const [id] = store.queuedIds('left')
  assert.ok(id !== undefined && id > 0)
  assert.deepEqual(store.queuedIds('right'), [id])
  await a.broker.close()

  const b = await startBroker(t, {}, { store })
  const state = await store.open()
  const [left, right] = ['left', 'right'].map((clientId) => state.sessions.find((s) => s.clientId === clientId)?.queued[0]?.message)
  assert.ok(left !== undefined && left === right, 'both queues refer to one message object')
  const pub2 = await b.client({ clientId: 'pub' })
  pub2.send(publishPacket('news', 'later', 1, { messageId: 2 }))
  await pub2.expectPacket({ cmd: 'puback', messageId: 2 })
  const [first, second] = store.queuedIds('left')
  assert.equal(first, id)
  assert.ok(second !== undefined && second > id)
  for (const clientId of ['left', 'right']) {
    const client = await b.client({ clientId, clean: false }, true)
    await client.expectPacket(publishPacket('news', 'shared', 1, { messageId: 1 }))
    await client.expectPacket(publishPacket('news', 'later', 1, { messageId: 2 }))
  }
  assert.deepEqual(store.problems, [])
})

test('a clean session is saved and removed, and nothing else of it is recorded [MQTT-3.1.2-6]', async (t) => {
  const store = new MirrorStore()
  const h = await startBroker(t, { maxInflightMessages: 1 }, { store })
  const brief = await h.client({ clientId: 'brief', clean: true })
  await brief.subscribe('t', 2)
  const pub = await h.client({ clientId: 'pub' })
  for (const messageId of [1, 2]) {
    pub.send(publishPacket('t', 'x', 2, { messageId }))
    await pub.expectPacket({ cmd: 'pubrec', messageId })
    pub.send({ cmd: 'pubrel', messageId })
    await pub.expectPacket({ cmd: 'pubcomp', messageId })
  }
  await brief.expectPacket(publishPacket('t', 'x', 2, { messageId: 1 }))
  const gone = once(h.broker, 'clientDisconnected')
  await brief.disconnect()
  await gone
  assert.deepEqual(store.calls.filter((call) => call.includes(' brief')), ['sessionSaved brief', 'sessionRemoved brief'])
  assert.deepEqual(store.calls.filter((call) => call.includes(' pub')), ['sessionSaved pub'])
})

test('a pending will and a session expiry are wall-clock deadlines: both run out while the broker is down (MQTT 5.0, 3.1.2.11.2, 3.1.3.2.2)', async (t) => {
  const store = new MirrorStore()
  const a = await startBroker(t, {}, { store })
  const watcher = await connectV5(t, a.port, { clientId: 'watcher', clean: false, properties: { sessionExpiryInterval: 300 } })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  await watcher.client.endAsync()
  const dev = await connectV5(t, a.port, {
    clientId: 'dev',
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    will: { topic: 'wills/dev', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 30 } }
  })
  const old = await connectV5(t, a.port, { clientId: 'old', clean: false, properties: { sessionExpiryInterval: 10 } })
  await old.client.subscribeAsync('anything', { qos: 1 })
  await old.client.endAsync()
  const dropped = once(a.broker, 'clientDisconnected')
  await dev.drop()
  const [event] = await dropped
  assert.equal(event.willPublished, false)
  await a.broker.close()
  // Down for 31 s: past dev's will delay (30 s) and old's session expiry (10 s), within the rest.
  for (const clientId of ['watcher', 'dev', 'old']) store.age(clientId, 31_000)

  const b = await startBroker(t, {}, { store })
  assert.ok(b.log.lines.includes('Expiring client old: session expiry interval passed.'), 'expired at open')
  const back = await connectV5(t, b.port, { clientId: 'watcher', clean: false, properties: { sessionExpiryInterval: 300 } })
  assert.equal(back.connack.sessionPresent, true)
  const will = await back.next()
  assert.deepEqual([will.topic, will.payload, will.packet.qos], ['wills/dev', 'gone', 1])
  const devBack = await connectV5(t, b.port, { clientId: 'dev', clean: false, properties: { sessionExpiryInterval: 600 } })
  assert.equal(devBack.connack.sessionPresent, true)
  const oldBack = await connectV5(t, b.port, { clientId: 'old', clean: false, properties: { sessionExpiryInterval: 10 } })
  assert.equal(oldBack.connack.sessionPresent, false)
  assert.deepEqual(store.problems, [])
})

test('after a crash the wills of clients that were connected go out once the sessions are back [MQTT-3.1.2-8]', async (t) => {
  const store = new MirrorStore()
  const a = await startBroker(t, {}, { store })
  const watcher = await a.client({ clientId: 'watcher', clean: false })
  await watcher.subscribe('wills/#', 1)
  const gone = once(a.broker, 'clientDisconnected')
  await watcher.disconnect()
  await gone
  await a.client({ clientId: 'brief', clean: true, will: { topic: 'wills/brief', payload: 'lost', qos: 1 } })
  await a.client({ clientId: 'keeper', clean: false, will: { topic: 'wills/keeper', payload: 'lost too', qos: 1 } })
  // What a store on disk holds if the process dies now, with both clients connected.
  const disk = store.snapshot()

  const b = await startBroker(t, {}, { store: disk })
  const back = await b.client({ clientId: 'watcher', clean: false }, true)
  const received = [await back.next(), await back.next()].map((packet) => packet.cmd === 'publish' ? `${packet.topic} ${packet.payload.toString()}` : packet.cmd)
  assert.deepEqual(received.sort(), ['wills/brief lost', 'wills/keeper lost too'])
  await b.client({ clientId: 'keeper', clean: false }, true)
  await b.client({ clientId: 'brief', clean: false }, false)
  assert.deepEqual(disk.problems, [])
})

/** A store whose commits complete only when the test says so, as a disk's fsync would. */
class HeldCommitStore extends MirrorStore {
  private readonly waiting: Array<() => void> = []
  get commitsWaiting (): number { return this.waiting.length }
  commit (done: () => void): void { this.waiting.push(done) }
  /** Completes every commit asked for so far. */
  finishCommits (): void { for (const done of this.waiting.splice(0)) done() }
}

test('with a store that commits, SUBACK, PUBACK, PUBREC and PUBCOMP leave only after the commit that covers their records', async (t) => {
  const store = new HeldCommitStore()
  const h = await startBroker(t, {}, { store })
  const sub = await h.client({ clientId: 'sub', clean: false })
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 2 }] })
  // PINGRESP is no acknowledgement of a record: it overtakes the SUBACK held for the commit.
  await sub.expectNothingPending()
  assert.equal(store.commitsWaiting, 1)
  store.finishCommits()
  await sub.expectPacket({ cmd: 'suback', messageId: 1, granted: [2] })
  const gone = once(h.broker, 'clientDisconnected')
  await sub.disconnect()
  await gone
  const pub = await h.client({ clientId: 'pub', clean: false })
  pub.send(Buffer.concat([encode(publishPacket('d/1', 'one', 1, { messageId: 1 }), 4), encode(publishPacket('d/2', 'two', 2, { messageId: 2 }), 4)]))
  await pub.expectNothingPending()
  assert.deepEqual(store.calls.slice(-3).map((call) => call.split(' ')[0]), ['queued', 'queued', 'inboundQos2Added'])
  // One commit, or two if the packets came in two reads: each acknowledgement waits for its own.
  store.finishCommits()
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  store.finishCommits()
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  pub.send({ cmd: 'pubrel', messageId: 2 })
  await pub.expectNothingPending()
  store.finishCommits()
  await pub.expectPacket({ cmd: 'pubcomp', messageId: 2 })
  assert.deepEqual(store.problems, [])
})

test('a session taken back from the store keeps its identity: read access is asked for it while it is offline', async (t) => {
  const store = new MirrorStore()
  const auth = { authorizeDelivery: (client: { username?: string }, topic: string) => !(client.username === 'eve' && topic.startsWith('secret/')) }
  const a = await startBroker(t, {}, { store, auth })
  const eve = await a.client({ clientId: 'eve', username: 'eve', clean: false })
  await eve.subscribe('#', 1)
  const gone = once(a.broker, 'clientDisconnected')
  await eve.disconnect()
  await gone
  await a.broker.close()

  const b = await startBroker(t, {}, { store, auth })
  const pub = await b.client({ clientId: 'pub' })
  pub.send(publishPacket('secret/plans', 'no', 1, { messageId: 1 }))
  pub.send(publishPacket('open/news', 'yes', 1, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await pub.expectPacket({ cmd: 'puback', messageId: 2 })
  assert.equal(store.queuedIds('eve').length, 1)
  const back = await b.client({ clientId: 'eve', username: 'eve', clean: false }, true)
  await back.expectPacket(publishPacket('open/news', 'yes', 1, { messageId: 1 }))
  await back.expectNothingPending()
  assert.deepEqual(store.problems, [])
})
