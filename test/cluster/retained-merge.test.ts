// The merge rule of the retained bucket after a node was cut off (lib/cluster/retained-bucket.ts):
// last writer by KV revision. The bucket is driven directly over a real nats-server -js, with a
// second NATS connection in the part of another node writing the bucket meanwhile.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect } from '@nats-io/transport-node'
import { silentLogger } from '../../lib'
import { BUCKETS, openBucket } from '../../lib/cluster/buckets'
import { messageToValue, valueToMessage } from '../../lib/cluster/kv-codec'
import { retainedKey } from '../../lib/cluster/kv-keys'
import { ClusterRetained } from '../../lib/cluster/retained-bucket'
import { MemoryRetainedStore } from '../../lib/retained/retained'
import type { Message } from '../../lib/types'
import { startNatsServer } from './nats-server'
import { within } from './support'

function retained (topic: string, payload: string): Message {
  return { id: 0, topic, payload: Buffer.from(payload), qos: 0, retain: true, origin: { kind: 'client', clientId: 'merge-test' } }
}

/** Resolves once the bucket holds `payload` for `topic`, looked at every 10 ms; bounded by within(). */
async function untilValue (valueOf: (topic: string) => Promise<string | undefined>, topic: string, payload: string): Promise<void> {
  await within((async () => {
    while (await valueOf(topic) !== payload) await new Promise((resolve) => setTimeout(resolve, 10))
  })(), `'${payload}' for ${topic} in the bucket`)
}

test('after an outage: an offline change goes in unless another node wrote the key meanwhile; a key only this node holds is written', async (t) => {
  const nats = await startNatsServer()
  t.after(async () => { await nats.stop() })
  const nc = await connect({ servers: nats.url })
  const otherNc = await connect({ servers: nats.url })
  t.after(async () => {
    await nc.close()
    await otherNc.close()
  })
  const other = await openBucket(otherNc, BUCKETS.retained)
  const valueOf = async (topic: string): Promise<string | undefined> => {
    const entry = await other.get(retainedKey(topic) ?? '')
    return entry === null || entry.operation !== 'PUT' ? undefined : valueToMessage(entry.value)?.payload.toString()
  }
  let ids = 0
  const cache = new MemoryRetainedStore()
  const bucket = new ClusterRetained(cache, { logger: silentLogger, nextMessageId: () => ++ids })
  t.after(async () => { await bucket.stop() })
  await bucket.connected(nc)
  bucket.set(retained('k/one', 'before'))
  bucket.set(retained('k/two', 'before'))
  bucket.set(retained('k/gone', 'before'))
  // Written in order per key, each key on its own: the last key's value says nothing of the others.
  for (const topic of ['k/one', 'k/two', 'k/gone']) await untilValue(valueOf, topic, 'before')

  // Cut off: changes are remembered with the revision they replace.
  bucket.disconnected()
  bucket.set(retained('k/one', 'offline'))
  bucket.set(retained('k/two', 'offline'))
  bucket.set({ ...retained('k/gone', ''), payload: Buffer.alloc(0) })
  bucket.set(retained('k/new', 'only here'))
  // Meanwhile another node writes k/two.
  await other.put(retainedKey('k/two') ?? '', messageToValue(retained('k/two', 'elsewhere')))

  await bucket.connected(nc)
  assert.equal(await valueOf('k/one'), 'offline')
  assert.equal(await valueOf('k/two'), 'elsewhere')
  assert.equal(await valueOf('k/gone'), undefined)
  assert.equal(await valueOf('k/new'), 'only here')
  // The cache took the bucket's newer value for the key it lost.
  assert.equal(cache.get('k/two')?.payload.toString(), 'elsewhere')
  assert.equal(cache.get('k/one')?.payload.toString(), 'offline')
  assert.equal(cache.get('k/gone'), undefined)
})
