// Retained messages of the whole cluster in one JetStream key-value bucket, cached on each node.
// The cache is the node's own retained store (memory or disk), so a subscriber's retained messages
// come from memory as on a node alone. A node writes what its clients retain to the bucket and
// follows the bucket with a watch: a message retained on A is in C's cache before C's next
// subscriber asks, and an empty retained payload [MQTT-3.3.1-10] deletes the key, so every node
// drops it. The Message Expiry Interval travels as the message's deadline (wall clock): every node
// skips it once past [MQTT-3.3.2-5], and drops it when it arrives already expired.
//
// NATS out of reach: the node serves its own cache and remembers what its clients changed meanwhile,
// with the bucket revision each change replaced. When NATS is back the node reads the bucket again
// and merges. The rule: last writer by KV revision. A change made offline is written with a
// compare-and-swap on the revision it replaced, so it goes in only if no node wrote that key in
// between; if one did, the bucket's newer value wins and this node takes it. A key the bucket does
// not hold at all (never written, or NATS lost its store) is written from this node's cache.
import type { KV, KvEntry } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'
import type { RetainedStore } from '../retained/retained'
import type { Message } from '../types'
import { BUCKETS, FollowedBucket, KeyedChain, lostRace } from './buckets'
import { messageToValue, valueToMessage } from './kv-codec'
import { retainedKey } from './kv-keys'

/** What the bucket needs of the broker. */
export interface RetainedHost {
  readonly logger: Logger
  /** A fresh message id for a message taken from the bucket (ids are per node). */
  nextMessageId (): number
}

interface OfflineChange {
  /** The retained message; an empty payload is a deletion. */
  message: Message
  /** The bucket revision of the key when the change was made; undefined when the bucket did not hold it. */
  baseRevision: number | undefined
}

class BucketWon extends Error {}

export class ClusterRetained implements RetainedStore {
  private readonly bucket: FollowedBucket
  /** The bucket's last revision of each key (a value or a deletion), as the current watch showed it. */
  private revisions = new Map<string, number>()
  /** The topic of each key cached here, so a deletion from the bucket finds what to drop. */
  private readonly topics = new Map<string, string>()
  /** What this node's clients changed while the bucket was out of reach, by key. */
  private readonly offline = new Map<string, OfflineChange>()
  private readonly writes = new KeyedChain()

  constructor (private readonly cache: RetainedStore, private readonly host: RetainedHost) {
    this.bucket = new FollowedBucket(BUCKETS.retained, (entry) => { this.apply(entry) }, host.logger)
  }

  get size (): number { return this.cache.size }
  get bytes (): number { return this.cache.bytes }
  get (topic: string): Message | undefined { return this.cache.get(topic) }
  match (filter: string, visit: (message: Message) => void): void { this.cache.match(filter, visit) }
  clear (): void { this.cache.clear() }

  /** A message retained on this node (its clients, wills, in-process API): cached, then written to the bucket. */
  set (message: Message): void {
    this.cache.set(message)
    const key = retainedKey(message.topic)
    if (key === undefined) return
    if (message.payload.length > 0) this.topics.set(key, message.topic)
    const kv = this.bucket.kv
    if (kv === undefined) {
      this.rememberOffline(key, message)
      return
    }
    // A live write supersedes what was changed offline for the same key.
    this.offline.delete(key)
    this.writes.run(key, async () => {
      try {
        if (message.payload.length === 0) await kv.delete(key)
        else await kv.put(key, messageToValue(message))
      } catch (error) {
        this.host.logger.debug(`Cluster: retained '${message.topic}' not written to the bucket yet: ${(error as Error).message}.`)
        this.rememberOffline(key, message)
      }
    })
  }

  /** NATS is up (first join or return): read the bucket, merge, then write through and follow it. */
  async connected (nc: NatsConnection): Promise<void> {
    // The revisions of this connection's watch only: NATS may have come back with another store.
    this.revisions = new Map()
    this.merge(await this.bucket.follow(nc))
    await this.writes.idle()
  }

  /** NATS is gone: changes are remembered until it is back. */
  disconnected (): void {
    this.bucket.lost()
  }

  /** Every write asked for so far has ended; the watch stops. */
  async stop (): Promise<void> {
    await this.writes.idle()
    this.bucket.stop()
  }

  private rememberOffline (key: string, message: Message): void {
    const earlier = this.offline.get(key)
    this.offline.set(key, { message, baseRevision: earlier === undefined ? this.revisions.get(key) : earlier.baseRevision })
  }

  /** One entry of the bucket's watch: the cache follows, except for a key changed here offline (merge decides). */
  private apply (entry: KvEntry): void {
    this.revisions.set(entry.key, entry.revision)
    if (this.offline.has(entry.key)) return
    this.take(entry.key, entry)
  }

  /** Makes the cache hold what the bucket holds for `key` (null: nothing). */
  private take (key: string, entry: KvEntry | null): void {
    const message = entry === null || entry.operation !== 'PUT' ? undefined : valueToMessage(entry.value)
    if (entry !== null && entry.operation === 'PUT' && message === undefined) {
      this.host.logger.warning(`Cluster: retained message '${key}' in the bucket does not read back; left out.`)
      return
    }
    if (message === undefined || (message.expiresAt !== undefined && message.expiresAt <= Date.now())) {
      const topic = message?.topic ?? this.topics.get(key)
      this.topics.delete(key)
      if (topic !== undefined) this.cache.set({ id: 0, topic, payload: Buffer.alloc(0), qos: 0, retain: true })
      return
    }
    message.id = this.host.nextMessageId()
    message.retain = true
    this.topics.set(key, message.topic)
    this.cache.set(message)
  }

  /** After the bucket was read: offline changes by compare-and-swap, then what only this node holds. */
  private merge (kv: KV): void {
    for (const [key, change] of this.offline) {
      this.writes.run(key, async () => { await this.writeOfflineChange(kv, key, change) })
    }
    const now = Date.now()
    this.cache.match('#', (message) => {
      const key = retainedKey(message.topic)
      if (key === undefined || this.revisions.has(key) || this.offline.has(key)) return
      if (message.expiresAt !== undefined && message.expiresAt <= now) return
      this.topics.set(key, message.topic)
      this.writes.run(key, async () => {
        try {
          await kv.create(key, messageToValue(message))
        } catch (error) {
          if (lostRace(error)) this.take(key, await kv.get(key))
        }
      })
    })
  }

  private async writeOfflineChange (kv: KV, key: string, change: OfflineChange): Promise<void> {
    // A live write since then replaced this change.
    if (this.offline.get(key) !== change) return
    this.offline.delete(key)
    const current = this.revisions.get(key)
    const { message } = change
    try {
      if (current !== undefined && current !== change.baseRevision) throw new BucketWon()
      if (message.payload.length === 0) {
        if (current !== undefined) await kv.delete(key, { previousSeq: current })
      } else if (current === undefined) {
        await kv.create(key, messageToValue(message))
      } else {
        await kv.update(key, messageToValue(message), current)
      }
    } catch (error) {
      if (error instanceof BucketWon || lostRace(error)) {
        this.host.logger.info(`Cluster: retained '${message.topic}' changed elsewhere while this node was cut off; the cluster's newer value wins.`)
        this.take(key, await kv.get(key))
        return
      }
      this.host.logger.debug(`Cluster: retained '${message.topic}' not merged yet: ${(error as Error).message}.`)
      if (!this.offline.has(key)) this.offline.set(key, change)
    }
  }
}
