// Cluster-wide takeover [MQTT-3.1.4-2] (MQTT 5.0, 3.1.4): a client id connects on one node while it
// is connected on another. Each node claims the client ids connected to it in a key-value bucket
// (key: the client id, value: node, a token naming that one connection, Clean Start) and follows
// the bucket with a watch. The bucket orders every claim by revision, and every node sees them in
// that order, so two connections racing on two nodes are settled alike everywhere: the claim with
// the higher revision is the newer connection. A node whose own claim was followed by another
// one closes its client: DISCONNECT 0x8E Session taken over on MQTT 5 (MQTT 5.0, 3.14.2.1), the
// network connection alone on 3.1.1. A claim that came before this node's own is an older
// connection, which its node closes when it sees this node's claim.
// A client that leaves removes its claim with a compare-and-swap on its revision, so it never
// removes a newer node's claim. While NATS is away claims are made when it returns.
import type { KvEntry } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'
import { BUCKETS, FollowedBucket, KeyedChain } from './buckets'
import { clientKey } from './kv-keys'

/** What takeover needs of the broker. */
export interface TakeoverHost {
  readonly logger: Logger
  readonly nodeId: string
  /** Clean Start of the connected client's connection; undefined when it is not connected here. */
  cleanStartOf (clientId: string): boolean | undefined
  /** A newer connection of the client on `node`: close it here and settle its session. */
  takenOver (clientId: string, node: string, cleanStart: boolean): void
}

/** A claim as the bucket holds it. */
export interface ClientClaim {
  node: string
  token: string
  cleanStart: boolean
}

interface OwnClaim {
  readonly clientId: string
  readonly token: string
  readonly cleanStart: boolean
  /** The revision the bucket gave it; undefined until written. */
  revision: number | undefined
  /** The watch has shown it: a claim after it is a newer connection. */
  seen: boolean
}

export class ClusterTakeover {
  private readonly bucket: FollowedBucket
  private connections = 0
  /** This node's claim for each client connected here, by key. */
  private readonly claims = new Map<string, OwnClaim>()
  private readonly writes = new KeyedChain()

  constructor (private readonly host: TakeoverHost) {
    this.bucket = new FollowedBucket(BUCKETS.clients, (entry) => { this.apply(entry) }, host.logger)
  }

  /** A client connected here. */
  clientConnected (clientId: string, cleanStart: boolean): void {
    const key = clientKey(clientId)
    const claim: OwnClaim = { clientId, token: `${this.host.nodeId}/${++this.connections}`, cleanStart, revision: undefined, seen: false }
    this.claims.set(key, claim)
    this.writeClaim(key, claim)
  }

  /** A client connected here is gone (whatever the reason). */
  clientGone (clientId: string): void {
    const key = clientKey(clientId)
    const claim = this.claims.get(key)
    if (claim === undefined || claim.clientId !== clientId) return
    this.claims.delete(key)
    const kv = this.bucket.kv
    if (kv === undefined) return
    this.writes.run(key, async () => {
      if (claim.revision === undefined) return
      // Fails when a newer claim replaced it: that one stays.
      await kv.delete(key, { previousSeq: claim.revision }).catch(() => {})
    })
  }

  /** The node a client id is claimed by, as the bucket says now; undefined when unclaimed or unknown. */
  async ownerOf (clientId: string): Promise<string | undefined> {
    const entry = await this.bucket.kv?.get(clientKey(clientId)).catch(() => null)
    if (entry === undefined || entry === null || entry.operation !== 'PUT') return undefined
    return parseClaim(entry)?.node
  }

  async connected (nc: NatsConnection): Promise<void> {
    await this.bucket.follow(nc)
    // Clients that connected while NATS was away, or whose claim the bucket lost, claim now.
    for (const [key, claim] of this.claims) {
      if (!claim.seen) this.writeClaim(key, claim)
    }
  }

  disconnected (): void {
    this.bucket.lost()
  }

  async stop (): Promise<void> {
    await this.writes.idle()
    this.bucket.stop()
  }

  private writeClaim (key: string, claim: OwnClaim): void {
    const kv = this.bucket.kv
    if (kv === undefined) return
    const value: ClientClaim = { node: this.host.nodeId, token: claim.token, cleanStart: claim.cleanStart }
    this.writes.run(key, async () => {
      if (this.claims.get(key) !== claim) return
      try {
        claim.revision = await kv.put(key, JSON.stringify(value))
      } catch (error) {
        this.host.logger.debug(`Cluster: claim of client ${claim.clientId} not written yet: ${(error as Error).message}.`)
      }
    })
  }

  private apply (entry: KvEntry): void {
    if (entry.operation !== 'PUT') return
    const claim = this.claims.get(entry.key)
    if (claim === undefined) return
    const other = parseClaim(entry)
    if (other === undefined) return
    if (other.token === claim.token) {
      claim.seen = true
      claim.revision ??= entry.revision
      return
    }
    // Before this node's own claim in the bucket's order: an older connection, closed by its node.
    if (!claim.seen) return
    this.claims.delete(entry.key)
    this.host.takenOver(claim.clientId, other.node, other.cleanStart)
  }
}

function parseClaim (entry: KvEntry): ClientClaim | undefined {
  try {
    const claim = entry.json<ClientClaim>()
    return typeof claim.node === 'string' && typeof claim.token === 'string' ? claim : undefined
  } catch {
    return undefined
  }
}
