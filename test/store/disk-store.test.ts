// The disk store (lib/store/disk.ts) behind a real broker: what it gives back after a restart is
// exactly what the broker journaled (held against the MirrorStore, which keeps the journal as
// told), through compaction under load; acknowledgements wait for the sync; one writer per
// directory. Clients: MQTT.js (v4 and v5) and the raw test client.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { createBroker, sysTopics } from '../../lib'
import { DiskStore, type DiskStoreOptions } from '../../lib/store/disk'
import { StoreOpenError } from '../../lib/store/lock'
import { RecordingLogger, startBroker } from '../helpers/broker'
import { publishPacket } from '../helpers/raw-client'
import { comparable, TeeStore } from '../helpers/tee-store'
import { connectV5 } from '../mqtt5/mqttjs'

function tempDir (t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-store-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

function diskBytes (dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0)
}

async function reopened (options: DiskStoreOptions): Promise<{ store: DiskStore, state: unknown }> {
  const store = new DiskStore(options)
  const state = await store.open()
  return { store, state: comparable(state, store.retained) }
}

test('after a restart the disk store gives back exactly what the broker journaled, through compactions under load', async (t) => {
  const dir = tempDir(t)
  // A small compaction threshold, so the load below compacts many times.
  const tee = new TeeStore(new DiskStore({ directory: dir, compactAfterBytes: 16 * 1024 }))
  const h = await startBroker(t, { maxInflightMessages: 3, maxQueuedMessages: 50 }, { store: tee })
  const online = await connectV5(t, h.port, { clientId: 'online', clean: false, properties: { sessionExpiryInterval: 3600 } })
  await online.client.subscribeAsync('load/#', { qos: 2, properties: { subscriptionIdentifier: 7 } })
  const offline = await connectV5(t, h.port, { clientId: 'offline', clean: false, properties: { sessionExpiryInterval: 3600 } })
  await offline.client.subscribeAsync('load/+/x', { qos: 1, nl: true, rap: true })
  await offline.client.endAsync()
  const v4 = await h.client({ clientId: 'v4', clean: false })
  await v4.subscribe('load/#', 2)
  // v4 never acknowledges: its window fills, the rest queues.
  const publisher = await connectV5(t, h.port, {
    clientId: 'publisher',
    clean: false,
    properties: { sessionExpiryInterval: 60 },
    will: { topic: 'wills/publisher', payload: Buffer.from('gone'), qos: 1, retain: true, properties: { willDelayInterval: 600, contentType: 'text/plain' } }
  })
  for (let i = 0; i < 400; i++) {
    await publisher.client.publishAsync(`load/${i % 7}/x`, `message ${i}`, {
      qos: (i % 3) as 0 | 1 | 2,
      retain: i % 5 === 0,
      properties: i % 4 === 0 ? { contentType: 'text/plain', correlationData: Buffer.from([i & 255, 1]), userProperties: { n: String(i) }, messageExpiryInterval: 3600 } : undefined
    })
  }
  await publisher.client.publishAsync('load/0/x', '', { qos: 1, retain: true })
  await h.broker.close()
  const { store, state } = await reopened({ directory: dir })
  t.after(async () => { await store.close() })
  assert.deepEqual(state, comparable(await tee.mirror.open(), tee.mirror.retained))
  assert.deepEqual(tee.mirror.problems, [])
  const files = readdirSync(dir)
  // Compactions ran: a snapshot, and the logs before it are gone.
  assert.ok(files.some((name) => name.endsWith('.snap')), files.join(', '))
  assert.ok(files.filter((name) => name.endsWith('.log')).length <= 3, files.join(', '))
})

test('a restart gives back sessions, queues, inflight messages, QoS 2 ids and retained messages to real clients', async (t) => {
  const dir = tempDir(t)
  const a = await startBroker(t, { maxInflightMessages: 1 }, { store: new DiskStore({ directory: dir }) })
  const keeper = await a.client({ clientId: 'keeper', clean: false })
  await keeper.subscribe('q/#', 2)
  const pub = await a.client({ clientId: 'pub', clean: false })
  pub.send(publishPacket('q/1', 'one', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await keeper.expectPacket(publishPacket('q/1', 'one', 1, { messageId: 1 }))
  pub.send(publishPacket('q/2', 'two', 2, { messageId: 2, retain: true }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  await keeper.expectNothingPending()
  await a.broker.close()

  const b = await startBroker(t, { maxInflightMessages: 1 }, { store: new DiskStore({ directory: dir }) })
  assert.equal(b.broker.retainedCount, 1)
  const back = await b.client({ clientId: 'keeper', clean: false }, true)
  // [MQTT-4.4.0-1] the unacknowledged message again, with DUP, then the queue.
  await back.expectPacket(publishPacket('q/1', 'one', 1, { messageId: 1, dup: true }))
  back.send({ cmd: 'puback', messageId: 1 })
  await back.expectPacket(publishPacket('q/2', 'two', 2, { messageId: 2 }))
  const pubBack = await b.client({ clientId: 'pub', clean: false }, true)
  // [MQTT-4.3.3-2] the QoS 2 id is still held: the re-sent PUBLISH is acknowledged, not delivered again.
  pubBack.send(publishPacket('q/2', 'two', 2, { messageId: 2, dup: true, retain: true }))
  await pubBack.expectPacket({ cmd: 'pubrec', messageId: 2 })
  pubBack.send({ cmd: 'pubrel', messageId: 2 })
  await pubBack.expectPacket({ cmd: 'pubcomp', messageId: 2 })
  await back.expectNothingPending()
})

test('a second broker on the same directory stops with a clear error; the first one keeps it', async (t) => {
  const dir = tempDir(t)
  const first = await startBroker(t, { persistence: true, persistenceLocation: dir })
  const log = new RecordingLogger()
  const second = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], persistence: true, persistenceLocation: dir }, { logger: log })
  await assert.rejects(second.listen(), (error: Error) => error instanceof StoreOpenError && /is already in use by another broker in this process/.test(error.message))
  assert.deepEqual(second.addresses, [])
  await second.close()
  const c = await first.client({ clientId: 'still', clean: false })
  await c.subscribe('x', 1)
  await first.broker.close()
  // Closed, the directory is free again.
  const third = createBroker({ persistence: true, persistenceLocation: dir })
  await third.listen()
  await third.close()
})

test('with persistence_sync always, a PUBACK leaves after the record is synced; batch and never acknowledge at once', async (t) => {
  for (const sync of ['always', 'batch', 'never'] as const) {
    const store = new DiskStore({ directory: tempDir(t), sync })
    assert.equal(typeof store.commit, sync === 'always' ? 'function' : 'undefined', sync)
    const h = await startBroker(t, {}, { store })
    const sub = await h.client({ clientId: `sub-${sync}`, clean: false })
    await sub.subscribe('s', 1)
    const gone = once(h.broker, 'clientDisconnected')
    await sub.disconnect()
    await gone
    const pub = await h.client({ clientId: 'pub' })
    pub.send(publishPacket('s', sync, 1, { messageId: 1 }))
    await pub.expectPacket({ cmd: 'puback', messageId: 1 })
    if (sync === 'always') assert.ok(store.health().diskBytes > 0, 'the record was written before the PUBACK')
    await h.broker.close()
  }
})

test('compaction keeps the files bounded while retained messages are overwritten many times', async (t) => {
  const dir = tempDir(t)
  const h = await startBroker(t, {}, { store: new DiskStore({ directory: dir, compactAfterBytes: 32 * 1024 }) })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  const payload = 'x'.repeat(200)
  let largest = 0
  for (let round = 0; round < 100; round++) {
    await Promise.all(Array.from({ length: 20 }, async (_, topic) => await pub.client.publishAsync(`r/${topic}`, `${round} ${payload}`, { qos: 1, retain: true })))
    largest = Math.max(largest, diskBytes(dir))
  }
  // 2,000 updates of about 230 bytes each went through; the files hold 20 live messages, a log below
  // the threshold and at most one snapshot being replaced.
  assert.ok(largest < 200 * 1024, `files reached ${largest} bytes`)
  await h.broker.close()
  const b = await startBroker(t, {}, { store: new DiskStore({ directory: dir }) })
  assert.equal(b.broker.retainedCount, 20)
  const sub = await connectV5(t, b.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('r/7', { qos: 1 })
  const kept = await sub.next()
  assert.equal(kept.payload, `99 ${payload}`)
})

test('$SYS/broker/store/disk/... shows the store: its sync mode, its bytes, and whether it writes', async (t) => {
  const dir = tempDir(t)
  const h = await startBroker(t, { persistence: true, persistenceLocation: dir, sysIntervalSec: 1 })
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('kept', 'x', 1, { messageId: 1, retain: true }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('$SYS/broker/store/disk/#', { qos: 0 })
  const seen = new Map<string, string>()
  // The first values are the retained ones from the start; the bytes go up on a later tick.
  for (let i = 0; i < 20 && !(Number(seen.get('$SYS/broker/store/disk/bytes')) > 0); i++) {
    const message = await watcher.next()
    seen.set(message.topic, message.payload)
  }
  assert.equal(seen.get('$SYS/broker/store/disk/sync'), 'always')
  assert.equal(seen.get('$SYS/broker/store/disk/state'), 'writing')
  assert.ok(Number(seen.get('$SYS/broker/store/disk/bytes')) > 0, JSON.stringify([...seen]))
  assert.equal(seen.get('$SYS/broker/store/disk/last compaction'), '0')
})

test('when the disk fails, the broker says so once, keeps acknowledging from memory, and $SYS shows it', async (t) => {
  const dir = tempDir(t)
  const log = new RecordingLogger()
  const store = new DiskStore({ directory: dir, logger: log })
  const h = await startBroker(t, {}, { store, logger: log })
  // The log's descriptor swapped for a read-only one under the store: every write fails as on a broken disk.
  const inside = store as unknown as { fd: number | undefined }
  closeSync(inside.fd as number)
  inside.fd = openSync('/dev/null', 'r')
  const pub = await h.client({ clientId: 'pub' })
  for (const messageId of [1, 2, 3]) {
    pub.send(publishPacket('t', 'x', 1, { messageId, retain: true }))
    await pub.expectPacket({ cmd: 'puback', messageId })
  }
  const failures = log.lines.filter((line) => line.includes('write failed'))
  assert.equal(failures.length, 1, log.lines.join('\n'))
  assert.match(failures[0] as string, /serving from memory/)
  assert.match(store.health().failure ?? '', /EBADF/)
  assert.equal(h.broker.retainedCount, 1)
  assert.match(sysTopics(h.broker.statsSnapshot()).get('$SYS/broker/store/disk/state') ?? '', /^failing: /)
})
