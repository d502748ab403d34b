// Which nodes are alive: each node writes its heartbeat to a key-value bucket (key: its node id)
// every heartbeatMs, and follows the bucket with a watch. A node whose key has not changed for
// deadAfterHeartbeats heartbeats, by the watching node's own clock (so clocks need not agree), is
// dead. So is one that wrote 'left' as it shut down. The survivor whose compare-and-swap delete of
// the dead node's key succeeds is the one that takes care of it (its wills, wills.ts): one survivor
// only, whatever the number of survivors.
// A node cut off from NATS judges nobody: NATS is what it cannot see. When it is back, every node
// gets a fresh allowance. A node cut off longer than the allowance is dead to the others, as a
// crashed node would be, and its clients' wills go out: a network partition looks like a crash.
import type { KvEntry } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'
import { BUCKETS, FollowedBucket, lostRace } from './buckets'

/** A node's heartbeat, as the bucket holds it. */
export interface Heartbeat {
  /** 'up' while it runs; 'left' once it shut down. */
  state: 'up' | 'left'
  /** Its connected clients. */
  clients: number
  /** When it started, ms since the epoch. */
  startedAtMs: number
}

export interface NodeView {
  readonly heartbeat: Heartbeat
  /** When this node last saw its heartbeat change (this node's clock). */
  seenAtMs: number
  readonly revision: number
}

/** What membership needs of the broker and of the rest of the cluster. */
export interface MembershipHost {
  readonly logger: Logger
  readonly nodeId: string
  readonly clientCount: number
  /** This node declared `nodeId` dead (and no other node did). */
  nodeDied (nodeId: string): void
  /** A node joined, beat, or left. */
  changed (): void
}

export class ClusterMembership {
  /** Every node whose heartbeat is in the bucket, this one included. */
  readonly nodes = new Map<string, NodeView>()
  private readonly bucket: FollowedBucket
  private timer: NodeJS.Timeout | undefined
  private readonly startedAtMs = Date.now()

  constructor (private readonly host: MembershipHost, private readonly heartbeatMs: number, private readonly deadAfterHeartbeats: number) {
    this.bucket = new FollowedBucket(BUCKETS.nodes, (entry) => { this.apply(entry) }, host.logger)
  }

  async connected (nc: NatsConnection): Promise<void> {
    await this.bucket.follow(nc)
    // A fresh allowance for everyone: what happened while this node was cut off says nothing about them.
    const now = Date.now()
    for (const view of this.nodes.values()) view.seenAtMs = now
    await this.beat('up')
    if (this.timer === undefined) {
      this.timer = setInterval(() => { this.tick() }, this.heartbeatMs)
      this.timer.unref()
    }
  }

  disconnected (): void {
    this.bucket.lost()
  }

  /** Writes 'left', so survivors take care of what this node leaves behind at once, and stops beating. */
  async stop (): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    await this.beat('left')
    this.bucket.stop()
  }

  private tick (): void {
    if (this.bucket.kv === undefined) return
    void this.beat('up')
    const deadline = Date.now() - this.heartbeatMs * this.deadAfterHeartbeats
    for (const [nodeId, view] of this.nodes) {
      if (nodeId !== this.host.nodeId && view.seenAtMs < deadline) void this.declareDead(nodeId, view, 'no heartbeat')
    }
  }

  private async beat (state: Heartbeat['state']): Promise<void> {
    const kv = this.bucket.kv
    if (kv === undefined) return
    const heartbeat: Heartbeat = { state, clients: this.host.clientCount, startedAtMs: this.startedAtMs }
    try {
      await kv.put(this.host.nodeId, JSON.stringify(heartbeat))
    } catch (error) {
      this.host.logger.debug(`Cluster: heartbeat not written: ${(error as Error).message}.`)
    }
  }

  private apply (entry: KvEntry): void {
    if (entry.operation !== 'PUT') {
      if (this.nodes.delete(entry.key)) this.host.changed()
      return
    }
    let heartbeat: Heartbeat
    try {
      heartbeat = entry.json<Heartbeat>()
    } catch {
      this.host.logger.warning(`Cluster: heartbeat of node '${entry.key}' does not read; ignored.`)
      return
    }
    const view: NodeView = { heartbeat, seenAtMs: Date.now(), revision: entry.revision }
    if (!this.nodes.has(entry.key)) this.host.logger.notice(`Cluster: node ${entry.key} is ${heartbeat.state === 'up' ? 'up' : 'leaving'}.`)
    this.nodes.set(entry.key, view)
    this.host.changed()
    if (heartbeat.state === 'left' && entry.key !== this.host.nodeId) void this.declareDead(entry.key, view, 'it shut down')
  }

  private async declareDead (nodeId: string, view: NodeView, why: string): Promise<void> {
    const kv = this.bucket.kv
    if (kv === undefined || this.nodes.get(nodeId) !== view) return
    try {
      await kv.delete(nodeId, { previousSeq: view.revision })
    } catch (error) {
      // Another survivor was first, or the node beat again.
      if (!lostRace(error)) this.host.logger.debug(`Cluster: could not remove node ${nodeId}: ${(error as Error).message}.`)
      return
    }
    this.host.logger.notice(`Cluster: node ${nodeId} is gone (${why}); this node takes care of its clients' wills.`)
    this.host.nodeDied(nodeId)
  }
}
