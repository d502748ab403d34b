// The cluster's JetStream key-value buckets (nats.js @nats-io/kv, loaded only by a node that joins
// a cluster): opening them, following one with a watch, and writing each key's changes in order.
import type { KV, KvWatchEntry } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'
import { matchReplicas } from './replicas'
import { loadJetStream } from './stream'

type KvModule = typeof import('@nats-io/kv')
let kvModule: Promise<KvModule> | undefined

/** nats.js's key-value client, loaded with the first cluster link. */
async function loadKv (): Promise<KvModule> {
  kvModule ??= import('@nats-io/kv')
  return await kvModule
}

/** Roost's buckets on NATS; each key keeps its last value only (history 1). */
export const BUCKETS = {
  /** Retained messages by topic (kv-keys.ts retainedKey). */
  retained: 'roost_retained',
  /** Which node each connected client id is on: cluster-wide takeover. */
  clients: 'roost_clients',
  /** The wills of connected clients and of sessions waiting out a Will Delay Interval, by node. */
  wills: 'roost_wills',
  /** Each live node's heartbeat. */
  nodes: 'roost_nodes'
} as const

/** Opens a bucket, making it (one copy) when no node has yet: ensureBuckets() made it first with the configured copies. */
export async function openBucket (nc: NatsConnection, name: string): Promise<KV> {
  const { Kvm } = await loadKv()
  return await new Kvm(nc).create(name, { history: 1 })
}

/** Opens key-value buckets (history 1), making those no node has made yet, each with `replicas` copies. */
export async function ensureBuckets (nc: NatsConnection, names: readonly string[], replicas: number, logger: Logger): Promise<KV[]> {
  const [{ Kvm }, { jetstreamManager }] = await Promise.all([loadKv(), loadJetStream()])
  const kvm = new Kvm(nc)
  const jsm = await jetstreamManager(nc)
  const buckets: KV[] = []
  for (const name of names) {
    let kv: KV
    try {
      kv = await kvm.create(name, { history: 1, replicas })
    } catch (error) {
      throw new Error(`cannot make bucket ${name} with ${replicas} replica(s): ${(error as Error).message}`)
    }
    // A bucket is the stream KV_<name>.
    await matchReplicas(jsm, `KV_${name}`, replicas, logger)
    buckets.push(kv)
  }
  return buckets
}

/** A write that lost a compare-and-swap (another node wrote the key first), as JetStream words it. */
export function lostRace (error: unknown): boolean {
  return error instanceof Error && error.message.includes('wrong last sequence')
}

export interface BucketWatch {
  /** Resolves once the values the bucket held when the watch began have been applied. */
  readonly loaded: Promise<void>
  stop (): void
}

/**
 * Applies every key's last value (deletions included), then every change as it happens, in
 * revision order. `apply` runs for each entry; one that throws is logged and the watch goes on.
 */
export async function watchBucket (kv: KV, apply: (entry: KvWatchEntry) => void, logger: Logger): Promise<BucketWatch> {
  const status = await kv.status()
  const iterator = await kv.watch()
  let markLoaded: () => void = () => {}
  const loaded = new Promise<void>((resolve) => { markLoaded = resolve })
  // An empty bucket sends nothing to wait for; otherwise the last of its values comes marked as an update.
  if (status.values === 0) markLoaded()
  void (async () => {
    try {
      for await (const entry of iterator) {
        try {
          apply(entry)
        } catch (error) {
          logger.warning(`Cluster: could not apply '${entry.key}' of bucket ${entry.bucket}: ${(error as Error).message}.`)
        }
        if (entry.isUpdate) markLoaded()
      }
    } catch (error) {
      logger.warning(`Cluster: watch of bucket ${status.bucket} ended: ${(error as Error).message}.`)
    }
    markLoaded()
  })()
  return { loaded, stop: () => { iterator.stop() } }
}

/**
 * A bucket a part of the cluster follows: opened and read through a watch each time the link's
 * connection comes up; `kv` is there for writes only while the bucket is in step.
 */
export class FollowedBucket {
  private current: KV | undefined
  private watch: BucketWatch | undefined

  constructor (private readonly name: string, private readonly apply: (entry: KvWatchEntry) => void, private readonly logger: Logger) {}

  /** The bucket, while it is in step with this node; undefined while NATS is away. */
  get kv (): KV | undefined { return this.current }

  /** Opens the bucket on a new connection and applies what it holds; resolves with it once loaded. */
  async follow (nc: NatsConnection): Promise<KV> {
    this.stop()
    const kv = await openBucket(nc, this.name)
    this.watch = await watchBucket(kv, this.apply, this.logger)
    await this.watch.loaded
    this.current = kv
    return kv
  }

  /** NATS went away: no writes until the next follow(). */
  lost (): void {
    this.current = undefined
  }

  stop (): void {
    this.current = undefined
    this.watch?.stop()
    this.watch = undefined
  }
}

/** Runs each key's writes one after another, in the order they were asked for; keys do not wait for each other. */
export class KeyedChain {
  private readonly tails = new Map<string, Promise<void>>()

  run (key: string, write: () => Promise<void>): void {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(write).catch(() => {})
    this.tails.set(key, next)
    void next.then(() => { if (this.tails.get(key) === next) this.tails.delete(key) })
  }

  /** Resolves once every write asked for so far has ended. */
  async idle (): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values())
  }
}
