// The node's store, seen through by the cluster: retained messages go through the cluster's bucket
// (retained-bucket.ts), and the session journal is shown to the cluster too (a client connected or
// gone, a will held or settled) before it goes on to the store. Everything else is the store's own.
import type { InflightEntry, QueuedEntry, SessionRecord, StoredState, StoredSubscription } from '../store/records'
import type { Store, StoreHealth } from '../store/store'
import type { ClusterRetained } from './retained-bucket'

/** What the cluster reads of the session journal. */
export interface SessionObserver {
  sessionSaved (record: SessionRecord): void
  sessionRemoved (clientId: string): void
}

/** False for the keys of queues journaled as sessions (a bridge's, the cluster's backlog): U+0000 is in no client id [MQTT-1.5.4-2]. */
function isClientKey (key: string): boolean {
  return !key.startsWith('\u0000')
}

export class ClusterStore implements Store {
  readonly commit?: (done: () => void) => void
  readonly health?: () => StoreHealth

  constructor (private readonly inner: Store, readonly retained: ClusterRetained, private readonly observer: SessionObserver) {
    const { commit, health } = inner
    if (commit !== undefined) this.commit = commit.bind(inner)
    if (health !== undefined) this.health = health.bind(inner)
  }

  async open (): Promise<StoredState> { return await this.inner.open() }
  async close (): Promise<void> { await this.inner.close() }

  sessionSaved (record: SessionRecord): void {
    this.inner.sessionSaved(record)
    if (isClientKey(record.clientId)) this.observer.sessionSaved(record)
  }

  sessionRemoved (clientId: string): void {
    this.inner.sessionRemoved(clientId)
    if (isClientKey(clientId)) this.observer.sessionRemoved(clientId)
  }

  subscriptionSaved (clientId: string, subscription: StoredSubscription): void { this.inner.subscriptionSaved(clientId, subscription) }
  subscriptionRemoved (clientId: string, filter: string): void { this.inner.subscriptionRemoved(clientId, filter) }
  queued (clientId: string, entry: QueuedEntry): void { this.inner.queued(clientId, entry) }
  dequeued (clientId: string, entry: QueuedEntry): void { this.inner.dequeued(clientId, entry) }
  inflightSaved (clientId: string, entry: InflightEntry): void { this.inner.inflightSaved(clientId, entry) }
  inflightRemoved (clientId: string, packetId: number): void { this.inner.inflightRemoved(clientId, packetId) }
  inboundQos2Added (clientId: string, packetId: number): void { this.inner.inboundQos2Added(clientId, packetId) }
  inboundQos2Removed (clientId: string, packetId: number): void { this.inner.inboundQos2Removed(clientId, packetId) }
}
