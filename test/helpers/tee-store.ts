// A store that hands every journal call and retained change to two stores: the store under test
// and the MirrorStore, which keeps what the journal said. Reopening the store under test must then
// give back what the mirror gives back.
import type { RetainedStore } from '../../lib/retained/retained'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredState, StoredSubscription } from '../../lib/store/records'
import type { Store } from '../../lib/store/store'
import type { Message } from '../../lib/types'
import { MirrorStore } from './mirror-store'

class TeeRetained implements RetainedStore {
  constructor (private readonly main: RetainedStore, private readonly mirror: RetainedStore) {}
  get size (): number { return this.main.size }
  get bytes (): number { return this.main.bytes }
  set (message: Message): void { this.main.set(message); this.mirror.set(message) }
  get (topic: string): Message | undefined { return this.main.get(topic) }
  match (filter: string, visit: (message: Message) => void): void { this.main.match(filter, visit) }
  clear (): void { this.main.clear(); this.mirror.clear() }
}

export class TeeStore implements Store {
  readonly mirror = new MirrorStore()
  readonly retained: RetainedStore
  commit?: (done: () => void) => void

  constructor (readonly main: Store) {
    this.retained = new TeeRetained(main.retained, this.mirror.retained)
    if (main.commit !== undefined) this.commit = (done) => { main.commit?.(done) }
  }

  sessionSaved (record: SessionRecord): void { this.main.sessionSaved(record); this.mirror.sessionSaved(record) }
  sessionRemoved (clientId: string): void { this.main.sessionRemoved(clientId); this.mirror.sessionRemoved(clientId) }
  subscriptionSaved (clientId: string, s: StoredSubscription): void { this.main.subscriptionSaved(clientId, s); this.mirror.subscriptionSaved(clientId, s) }
  subscriptionRemoved (clientId: string, filter: string): void { this.main.subscriptionRemoved(clientId, filter); this.mirror.subscriptionRemoved(clientId, filter) }
  queued (clientId: string, entry: QueuedEntry): void { this.main.queued(clientId, entry); this.mirror.queued(clientId, entry) }
  dequeued (clientId: string, entry: QueuedEntry): void { this.main.dequeued(clientId, entry); this.mirror.dequeued(clientId, entry) }
  inflightSaved (clientId: string, entry: InflightEntry): void { this.main.inflightSaved(clientId, entry); this.mirror.inflightSaved(clientId, entry) }
  inflightRemoved (clientId: string, packetId: number): void { this.main.inflightRemoved(clientId, packetId); this.mirror.inflightRemoved(clientId, packetId) }
  inboundQos2Added (clientId: string, packetId: number): void { this.main.inboundQos2Added(clientId, packetId); this.mirror.inboundQos2Added(clientId, packetId) }
  inboundQos2Removed (clientId: string, packetId: number): void { this.main.inboundQos2Removed(clientId, packetId); this.mirror.inboundQos2Removed(clientId, packetId) }

  async open (): Promise<StoredState> {
    await this.mirror.open()
    return await this.main.open()
  }

  async close (): Promise<void> {
    await this.main.close()
    await this.mirror.close()
  }
}

/** A store's state in plain, sorted, comparable form: message bodies in full, by value. */
export function comparable (state: StoredState, retained: RetainedStore): unknown {
  const body = (m: Message): unknown => ({
    id: m.id,
    topic: m.topic,
    payload: m.payload.toString('hex'),
    qos: m.qos,
    retain: m.retain,
    expiresAt: m.expiresAt,
    origin: m.origin === undefined ? undefined : `${m.origin.kind} ${m.origin.clientId}`,
    properties: m.properties === undefined ? undefined : JSON.parse(JSON.stringify(m.properties)),
    userPropertyPairs: m.userPropertyPairs
  })
  const entry = (e: QueuedEntry | InflightEntry): unknown => ({ ...e, message: body(e.message) })
  const kept: unknown[] = []
  retained.match('#', (m) => { kept.push(body(m)) })
  // Through JSON, so a field left undefined and a field left out read the same, as on disk.
  return JSON.parse(JSON.stringify({
    retained: kept.sort((a, b) => String((a as { topic: string }).topic).localeCompare((b as { topic: string }).topic)),
    sessions: [...state.sessions].sort((a, b) => a.clientId.localeCompare(b.clientId)).map((s) => ({
      ...s,
      will: s.will === undefined ? undefined : { ...s.will, message: body(s.will.message) },
      subscriptions: [...s.subscriptions].map(({ filter, qos, options }) => ({ filter, qos, options })).sort((a, b) => a.filter.localeCompare(b.filter)),
      queued: s.queued.map(entry),
      inflight: [...s.inflight].sort((a, b) => a.packetId - b.packetId).map(entry),
      inboundQos2: [...s.inboundQos2].sort((a, b) => a - b)
    }))
  }))
}
