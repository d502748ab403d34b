// What a bridge holds for a remote that is down, across changes of the bridge and restarts of the
// broker: a bridge whose options change hands its queue to the one that replaces it; with the disk
// store the queue outlives a close and open; a removed bridge's queue is dropped, from the store
// too, and so is a stored queue whose bridge is gone from the configuration. A queue acknowledged
// out of order leaves the store from its head, and survives compaction into a snapshot.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { createBroker, type DeliveredMessage } from '../../lib'
import type { BridgeOptions } from '../../lib/bridge/options'
import { OutboundQueue, takeBridgeQueues } from '../../lib/bridge/outbound'
import { DiskStore } from '../../lib/store/disk'
import type { BrokerOptions } from '../../lib/options'
import { freePort, tempDir } from '../client/helpers'
import { type RunningBroker, startBroker } from '../clients/support'
import { bridgeReaches, until } from './helpers'

function bridgeTo (port: number, extra: Partial<BridgeOptions> = {}): BridgeOptions {
  return { name: 'q', addresses: [`127.0.0.1:${port}`], remoteClientId: 'queue', restartTimeoutSec: 0.1, topics: [{ pattern: 'held/#', direction: 'out', qos: 2 }], ...extra }
}

describe('a bridge queue across bridge changes and broker restarts', { timeout: 60_000 }, () => {
  const temp = tempDir('bridge-queue')
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    temp.remove()
  })

  async function roost (bridges: BridgeOptions[], options: Partial<BrokerOptions> = {}): Promise<RunningBroker> {
    const running = await startBroker({ ...options, bridges })
    cleanups.push(() => running.broker.close())
    return running
  }

  /** A Roost remote on `port` whose in-process subscriber collects what arrives on held/#, from before it listens. */
  async function remoteOn (port: number): Promise<DeliveredMessage[]> {
    const remote = createBroker({ sysIntervalSec: 0, listeners: [{ port, host: '127.0.0.1' }] })
    cleanups.push(() => remote.close())
    const arrived: DeliveredMessage[] = []
    remote.subscribe('held/#', 1, (message) => { arrived.push(message) })
    await remote.listen()
    return arrived
  }

  function publishHeld (running: RunningBroker, count: number, from = 0): void {
    for (let n = from; n < from + count; n++) running.broker.publish({ topic: `held/${n}`, payload: String(n), qos: n % 2 === 0 ? 1 : 2 })
  }

  const queued = (running: RunningBroker): number | undefined => running.broker.bridgeStates()[0]?.queued

  test('a changed bridge takes over the queue of the one it replaces, and sends it in order', async () => {
    const port = await freePort()
    const running = await roost([bridgeTo(port)])
    publishHeld(running, 4)
    assert.equal(queued(running), 4)
    await running.broker.setBridges([bridgeTo(port, { keepaliveSec: 30, topics: [{ pattern: 'held/#', direction: 'out', qos: 1 }, { pattern: 'more/#', direction: 'out', qos: 1 }] })])
    assert.equal(queued(running), 4)
    const arrived = await remoteOn(port)
    await until('four messages', () => arrived.length >= 4)
    await until('an empty queue', () => queued(running) === 0)
    assert.deepEqual(arrived.map((message) => message.payload.toString()), ['0', '1', '2', '3'])
  })

  test('with the disk store, the queue outlives a close and open of the broker', async () => {
    const port = await freePort()
    const store = { persistence: true, persistenceLocation: path.join(temp.dir, 'kept') }
    const first = await roost([bridgeTo(port)], store)
    publishHeld(first, 5)
    await first.broker.close()
    const second = await roost([bridgeTo(port)], store)
    assert.equal(queued(second), 5)
    publishHeld(second, 2, 5)
    const arrived = await remoteOn(port)
    await until('seven messages', () => arrived.length >= 7)
    await until('an empty queue', () => queued(second) === 0)
    assert.deepEqual(arrived.map((message) => message.payload.toString()), ['0', '1', '2', '3', '4', '5', '6'])
    await second.broker.close()
    // Delivered means gone from the store as well.
    const third = await roost([bridgeTo(port)], store)
    await bridgeReaches(third.broker, 'q', 'connected')
    assert.equal(queued(third), 0)
  })

  test('a removed bridge, or one gone from the configuration, loses its queue, in the store too', async () => {
    const port = await freePort()
    const store = { persistence: true, persistenceLocation: path.join(temp.dir, 'dropped') }
    const first = await roost([bridgeTo(port), bridgeTo(port, { name: 'other', remoteClientId: 'other' })], store)
    publishHeld(first, 3)
    assert.deepEqual(first.broker.bridgeStates().map(({ name, queued }) => [name, queued]), [['q', 3], ['other', 3]])
    await first.broker.setBridges([bridgeTo(port, { name: 'other', remoteClientId: 'other' })])
    await first.broker.close()
    // 'other' held three at close, but is not configured at this start.
    const second = await roost([], store)
    await second.broker.close()
    const third = await roost([bridgeTo(port), bridgeTo(port, { name: 'other', remoteClientId: 'other' })], store)
    assert.deepEqual(third.broker.bridgeStates().map(({ name, queued }) => [name, queued]), [['q', 0], ['other', 0]])
  })
  test('out-of-order settles leave the store from the head; the queue survives compaction', async () => {
    const directory = path.join(temp.dir, 'compacted')
    const first = new DiskStore({ directory, compactAfterBytes: 2_000 })
    await first.open()
    const queue = new OutboundQueue('c', first, undefined)
    const message = (id: number): { id: number, topic: string, payload: Buffer, qos: 1, retain: boolean } => ({ id, topic: `held/${id}`, payload: Buffer.alloc(50, id), qos: 1, retain: false })
    for (let id = 1; id <= 100; id++) queue.take(message(id), 1, false)
    // The second message is acknowledged before the first: it stays in the store until the first goes.
    queue.settle(1)
    assert.deepEqual(queue.pending().slice(0, 2).map((held) => held.message.id), [1, 3])
    queue.settle(0)
    for (let seq = 2; seq < 60; seq++) queue.settle(seq)
    // Compaction starts at the first batch after the log outgrew its bound: a few more batches.
    for (let id = 101; id <= 110 && first.health().lastCompactionMs === 0; id++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      queue.take(message(id), 1, false)
    }
    await first.close()
    assert.ok(first.health().lastCompactionMs > 0, 'compaction ran')
    const second = new DiskStore({ directory })
    const kept = takeBridgeQueues(await second.open()).get('c') ?? []
    await second.close()
    assert.equal(kept[0]?.message.id, 61)
    assert.deepEqual(kept.map((entry) => entry.message.id), Array.from({ length: kept.length }, (_, n) => 61 + n))
    assert.ok(kept.length >= 41)
  })
})
