// Wills that outlive their node. While a client is connected, and while its session waits out a
// Will Delay Interval (MQTT 5.0, 3.1.3.2.2), its node keeps the will in a key-value bucket under
// `<node>.<client>`; the key goes when the will is published or no longer due (DISCONNECT, a
// client back in time [MQTT-3.1.3-9], a session that ended). The node learns all of this from the
// session journal the store receives (lib/store/store.ts), so the rules stay those of
// lib/session/wills.ts.
//
// When a node dies (membership.ts), the survivor that declared it dead lists its keys and claims
// each will with a compare-and-swap delete on the revision it read: only one node's delete can
// succeed, so each will is published once in the cluster [MQTT-3.1.2-8]. A will whose client was
// still connected goes out now, or after its Will Delay Interval (at most the Session Expiry
// Interval) when it has one; a will already waiting goes out when it was due. Either way it is not
// sent if the client connected again meanwhile on a live node [MQTT-3.1.3-9].
// A node that starts with wills of its own left in the bucket (it died and came back before anyone
// noticed) handles them the same way.
import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'
import type { SessionRecord } from '../store/records'
import type { ClientInfo, Message } from '../types'
import { BUCKETS, KeyedChain, lostRace, openBucket } from './buckets'
import { recordToValue, valueToRecord } from './kv-codec'
import { willKey } from './kv-keys'
import { MAX_TIMER_MS } from '../session/wills'

/** What the wills need of the broker and of the rest of the cluster. */
export interface WillsHost {
  readonly logger: Logger
  readonly nodeId: string
  /** Publishes a will through admission, as the client's own node would have. */
  publishWill (client: ClientInfo, will: Message): void
  /** Whether the client is connected now on a live node other than `deadNode`. */
  connectedElsewhere (clientId: string, deadNode: string): Promise<boolean>
}

export class ClusterWills {
  private kv: KV | undefined
  /** The record of every client whose will this node holds now, by key. */
  private readonly held = new Map<string, SessionRecord>()
  /** Keys of this node that the bucket has (as far as this node wrote them). */
  private readonly written = new Set<string>()
  private readonly writes = new KeyedChain()
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor (private readonly host: WillsHost) {}

  /** The session journal: a session was saved, with or without a will. */
  sessionSaved (record: SessionRecord): void {
    const key = willKey(this.host.nodeId, record.clientId)
    if (record.will === undefined) {
      this.forget(key)
      return
    }
    this.held.set(key, record)
    this.write(key)
  }

  /** The session journal: a session ended; its will, if any, went out or is no longer due. */
  sessionRemoved (clientId: string): void {
    this.forget(willKey(this.host.nodeId, clientId))
  }

  /** NATS is up: writes what changed meanwhile, every will held (a survivor may have taken them), then takes over wills left by this node's previous run. */
  async connected (nc: NatsConnection): Promise<void> {
    this.kv = undefined
    const kv = await openBucket(nc, BUCKETS.wills)
    this.kv = kv
    for (const key of this.held.keys()) this.write(key)
    for (const key of this.written) if (!this.held.has(key)) this.write(key)
    await this.writes.idle()
    await this.takeOverWillsOf(this.host.nodeId, true)
  }

  disconnected (): void {
    this.kv = undefined
  }

  /** A node died: claim each of its wills, and publish those this node won, when due. */
  async nodeDied (nodeId: string): Promise<void> {
    try {
      await this.takeOverWillsOf(nodeId, false)
    } catch (error) {
      // NATS went away meanwhile: the wills not claimed yet stay in the bucket for another survivor.
      this.host.logger.warning(`Cluster: could not take over the wills of node ${nodeId}: ${(error as Error).message}.`)
    }
  }

  async stop (): Promise<void> {
    await this.writes.idle()
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.kv = undefined
  }

  private forget (key: string): void {
    if (!this.held.delete(key) && !this.written.has(key)) {
      // Settled before this node reached NATS (a session restored from disk, its will sent here):
      // what its previous run left in the bucket goes, rather than being taken for a leftover and sent again.
      if (this.kv === undefined) this.written.add(key)
      return
    }
    this.write(key)
  }

  /** Makes the bucket hold what `held` says for `key`, in order with the key's earlier writes. */
  private write (key: string): void {
    const kv = this.kv
    if (kv === undefined) return
    this.writes.run(key, async () => {
      const record = this.held.get(key)
      try {
        if (record !== undefined) {
          await kv.put(key, recordToValue(record))
          this.written.add(key)
        } else if (this.written.has(key)) {
          await kv.delete(key)
          this.written.delete(key)
        }
      } catch (error) {
        this.host.logger.debug(`Cluster: will '${key}' not written yet: ${(error as Error).message}.`)
      }
    })
  }

  private async takeOverWillsOf (nodeId: string, ownLeftovers: boolean): Promise<void> {
    const kv = this.kv
    if (kv === undefined) return
    const keys: string[] = []
    for await (const key of await kv.keys(`${nodeId}.>`)) keys.push(key)
    for (const key of keys) {
      // This node's own live wills are not leftovers.
      if (ownLeftovers && (this.held.has(key) || this.written.has(key))) continue
      const entry = await kv.get(key)
      if (entry === null || entry.operation !== 'PUT') continue
      try {
        await kv.delete(key, { previousSeq: entry.revision })
      } catch (error) {
        // Another survivor claimed it first, or the node wrote it again: not ours to publish.
        if (!lostRace(error)) this.host.logger.warning(`Cluster: could not claim will '${key}' of node ${nodeId}: ${(error as Error).message}.`)
        continue
      }
      const record = valueToRecord(entry.value)
      if (record?.will === undefined) {
        this.host.logger.warning(`Cluster: will '${key}' of node ${nodeId} does not read back; dropped.`)
        continue
      }
      this.schedule(record, nodeId)
    }
  }

  /** Publishes a claimed will when it is due, unless its client is back on a live node. */
  private schedule (record: SessionRecord, deadNode: string): void {
    const will = record.will
    if (will === undefined) return
    const now = Date.now()
    let dueMs = will.publishAtMs ?? now
    // Its client was connected when the node died: the delay starts now, and ends with the session at the latest.
    if (will.publishAtMs === undefined && will.delaySec > 0 && record.expiryIntervalSec > 0) {
      dueMs = now + Math.min(will.delaySec, record.expiryIntervalSec) * 1000
    }
    const publish = async (): Promise<void> => {
      if (dueMs > now && await this.host.connectedElsewhere(record.clientId, deadNode)) {
        this.host.logger.notice(`Will of ${record.clientId} (node ${deadNode}) not sent: the client connected again in time.`)
        return
      }
      this.host.logger.notice(`Publishing the will of ${record.clientId}, client of node ${deadNode}.`)
      will.message.origin = { kind: 'will', clientId: record.clientId, client: will.client }
      this.host.publishWill(will.client, will.message)
    }
    if (dueMs <= now) {
      void publish()
      return
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void publish()
    }, Math.min(dueMs - now, MAX_TIMER_MS))
    timer.unref()
    this.timers.add(timer)
  }
}
