// The memory store: retained messages in a trie; sessions are the broker's live Session objects,
// so there is nothing to record about them and nothing to give back at open(). Everything is gone
// when the process ends, as the editor's persistence setting says.
import { MemoryRetainedStore } from '../retained/retained'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredState, StoredSubscription } from './records'
import type { Store } from './store'

export class MemoryStore implements Store {
  readonly retained = new MemoryRetainedStore()

  // Session records: the live sessions are the only copy, so each of these is a no-op (and, being
  // empty and monomorphic, costs the hot path nothing once inlined).
  sessionSaved (_record: SessionRecord): void {}
  sessionRemoved (_clientId: string): void {}
  subscriptionSaved (_clientId: string, _subscription: StoredSubscription): void {}
  subscriptionRemoved (_clientId: string, _filter: string): void {}
  queued (_clientId: string, _entry: QueuedEntry): void {}
  dequeued (_clientId: string, _entry: QueuedEntry): void {}
  inflightSaved (_clientId: string, _entry: InflightEntry): void {}
  inflightRemoved (_clientId: string, _packetId: number): void {}
  inboundQos2Added (_clientId: string, _packetId: number): void {}
  inboundQos2Removed (_clientId: string, _packetId: number): void {}

  async open (): Promise<StoredState> {
    return { sessions: [], lastMessageId: 0 }
  }

  async close (): Promise<void> {}
}
