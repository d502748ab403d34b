// Persistent sessions in a cluster: their QoS 1/2 messages wait in JetStream, not on one node, so a
// client that subscribed on node A, went offline, and comes back on node B gets there what was
// published meanwhile anywhere in the cluster ("a persistent session moves with its queue").
//
// Names on NATS, shared by every node (and by whatever else reads a session's state):
// - For each subscription of a session that outlives its connection (MQTT 3.1.1 clean session 0,
//   MQTT 5 Session Expiry Interval > 0), and each NATS subject of its filter, one DURABLE consumer
//   on the stream ROOST_QOS, named `roost_s_<client key>_<subject key>`:
//     client key  = the first 24 hex digits of sha256(client id)
//     subject key = the first 12 hex digits of sha256(NATS subject of the filter)
//   filter subject `$ROOST.q.<subject>`, explicit acknowledgement, deliver new, inactive threshold =
//   the session expiry (none for a session that never expires), so JetStream ends it with the session.
//   Only the node the client is connected to pulls from it; offline, it holds the session's queue.
// - The key-value bucket ROOST_SESSION_SUBS, key `c_<client key>`, value JSON
//   `{ "clientId": "...", "subscriptions": [{ "filter": "...", "qos": 1, "options": {...} }] }`:
//   the session's subscriptions (non-shared, with a NATS subject), so the node a client comes back
//   to can subscribe it again and find its consumers.
//
// The node's own consumers (consumers.ts) pass such a session over (Session.servedByCluster): each
// message reaches it once, from its own consumers. A message two of its filters match comes from
// both consumers; the stream sequence lets the first through [MQTT-3.3.5-1].
//
// Limits today: the CONNACK of a client that comes back on another node says Session Present 0
// (the record is read after it); messages handed to a session here and not yet acknowledged by its
// client stay with this node's copy of the session; between a SUBSCRIBE and the making of its
// consumer (one round trip), a message may reach the session twice.
import { createHash } from 'node:crypto'
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { KV } from '@nats-io/kv'
import type { Logger } from '../logger'
import type { Session } from '../session/session'
import { SESSION_NEVER_EXPIRES } from '../session/session'
import type { Message, QoS, SubscriptionOptions } from '../types'
import { PULL_EXPIRES_MS, SeenSequences, StreamReader } from './consumers'
import { STREAM_NAME, streamSubject } from './stream'
import { filterToSubjects } from './subjects'

export const SESSION_BUCKET = 'ROOST_SESSION_SUBS'
/** Messages one session consumer may have on their way to this node at once. */
const BATCH = 100
/** Stream sequences a session remembers, to drop the copy a second matching filter brings. */
const SEEN_WINDOW = 4096

/** One subscription as the bucket keeps it. */
export interface SessionSubscription {
  filter: string
  qos: QoS
  options?: SubscriptionOptions
}

interface SessionRecord {
  clientId: string
  subscriptions: SessionSubscription[]
}

/** What this file uses of the broker (cluster/host.ts). */
export interface SessionAccess {
  readonly logger: Logger
  readonly maxTopicLevels: number
  /** The session of `clientId` while it is connected here, when it outlives its connection. */
  persistentSession (clientId: string): Session | undefined
  /** Subscribes the session again to what another node recorded (asked of the authorizers again, no retained messages). */
  restore (session: Session, subscription: SessionSubscription): void
  /** Delivers a message of the session's consumers to it, as the router would, after admission. */
  deliver (session: Session, message: Message, subscription: SessionSubscription): void
}

/** The session events this file follows, as the broker reports them. */
export interface SessionEvents {
  connected (clientId: string, cleanStart: boolean): void
  disconnected (clientId: string): void
  subscribed (clientId: string, filters: string[]): void
  unsubscribed (clientId: string, filters: string[]): void
}

export function clientKey (clientId: string): string {
  return createHash('sha256').update(clientId).digest('hex').slice(0, 24)
}

export function sessionConsumerName (clientId: string, subject: string): string {
  return `roost_s_${clientKey(clientId)}_${createHash('sha256').update(subject).digest('hex').slice(0, 12)}`
}

/** Does this subscription wait in the cluster for its session? Shared ones and `$SYS` do not. */
function durable (filter: string): boolean {
  return !filter.startsWith('$share/') && !filter.startsWith('$SYS') && filterToSubjects(filter).length > 0
}

interface Bound {
  readonly session: Session
  readonly seen: SeenSequences
  /** Consumer name → its running pull, and the subscription it serves. */
  readonly pulls: Map<string, { running: Promise<ConsumerMessages | undefined>, filter: string }>
}

export class SessionConsumers implements SessionEvents {
  private js: JetStreamClient | undefined
  private jsm: JetStreamManager | undefined
  private kv: KV | undefined
  private readonly bound = new Map<string, Bound>()
  /** Per client, the work under way: one client's changes happen in order. */
  private readonly chains = new Map<string, Promise<void>>()
  private readonly reader: StreamReader

  constructor (private readonly access: SessionAccess) {
    this.reader = new StreamReader(access, false)
  }

  attach (js: JetStreamClient, jsm: JetStreamManager, kv: KV): void {
    this.js = js
    this.jsm = jsm
    this.kv = kv
  }

  /** A client connected here: a clean start forgets what the cluster kept; a persistent session resumes. */
  connected (clientId: string, cleanStart: boolean): void {
    this.queue(clientId, async () => {
      if (cleanStart) await this.forget(clientId)
      const session = this.access.persistentSession(clientId)
      if (session !== undefined) await this.resume(clientId, session)
    })
  }

  /** The client's connection ended: its consumers hold what comes until it is back, here or elsewhere. */
  disconnected (clientId: string): void {
    // A takeover on this node: the new connection has the session already.
    this.queue(clientId, async () => { if (this.access.persistentSession(clientId) === undefined) await this.unbind(clientId) })
  }

  subscribed (clientId: string, filters: string[]): void {
    this.queue(clientId, async () => {
      const session = this.access.persistentSession(clientId)
      if (session === undefined) return
      const bound = this.bound.get(clientId)
      for (const filter of filters) if (durable(filter) && bound !== undefined) await this.bindFilter(clientId, bound, filter)
      await this.save(clientId, session)
    })
  }

  unsubscribed (clientId: string, filters: string[]): void {
    this.queue(clientId, async () => {
      const bound = this.bound.get(clientId)
      for (const filter of filters) {
        for (const subject of filterToSubjects(filter)) {
          const name = sessionConsumerName(clientId, subject)
          const pull = bound?.pulls.get(name)
          bound?.pulls.delete(name)
          await (await pull?.running)?.close()
          await this.jsm?.consumers.delete(STREAM_NAME, name).catch(() => false)
        }
      }
      const session = this.access.persistentSession(clientId)
      if (session !== undefined) await this.save(clientId, session)
    })
  }

  /** Resolves once every change asked for so far is done. */
  async sync (): Promise<void> {
    await Promise.all(this.chains.values())
  }

  async stop (): Promise<void> {
    await this.sync()
    for (const clientId of [...this.bound.keys()]) await this.unbind(clientId)
    this.js = undefined
  }

  private queue (clientId: string, work: () => Promise<void>): void {
    const previous = this.chains.get(clientId) ?? Promise.resolve()
    const next = previous.then(work).catch((error: unknown) => {
      this.access.logger.warning(`Cluster: session of ${clientId} in JetStream: ${(error as Error).message}.`)
    }).finally(() => {
      if (this.chains.get(clientId) === next) this.chains.delete(clientId)
    })
    this.chains.set(clientId, next)
  }

  /** Takes back the subscriptions another node recorded, then pulls from every consumer of the session. */
  private async resume (clientId: string, session: Session): Promise<void> {
    if (this.js === undefined) return
    const record = await this.record(clientId)
    for (const subscription of record?.subscriptions ?? []) {
      if (!session.subscriptions.has(subscription.filter)) this.access.restore(session, subscription)
    }
    const bound: Bound = { session, seen: new SeenSequences(SEEN_WINDOW), pulls: new Map() }
    await this.unbind(clientId)
    this.bound.set(clientId, bound)
    for (const filter of session.subscriptions.keys()) if (durable(filter)) await this.bindFilter(clientId, bound, filter)
    session.servedByCluster = true
    await this.save(clientId, session)
  }

  /** Makes (or finds) the consumers of one filter and pulls from them. */
  private async bindFilter (clientId: string, bound: Bound, filter: string): Promise<void> {
    const js = this.js
    const jsm = this.jsm
    if (js === undefined || jsm === undefined) return
    const expiry = bound.session.expiryIntervalSec
    for (const subject of filterToSubjects(filter)) {
      const name = sessionConsumerName(clientId, subject)
      if (bound.pulls.has(name)) continue
      const config = {
        durable_name: name,
        description: `roost session ${clientId} ${filter}`,
        filter_subject: streamSubject(subject),
        ack_policy: 'explicit' as const,
        deliver_policy: 'new' as const,
        ...(expiry === SESSION_NEVER_EXPIRES ? {} : { inactive_threshold: expiry * 1e9 })
      }
      // Already there (made by this session on another node): used as it is.
      await jsm.consumers.add(STREAM_NAME, config).catch(() => undefined)
      const running = js.consumers.get(STREAM_NAME, name)
        .then(async (consumer) => await consumer.consume({ max_messages: BATCH, expires: PULL_EXPIRES_MS, callback: (msg) => { this.receive(bound, filter, msg) } }))
        .catch((error: unknown) => {
          this.access.logger.warning(`Cluster: cannot pull the queue of ${clientId} on '${filter}': ${(error as Error).message}.`)
          return undefined
        })
      bound.pulls.set(name, { running, filter })
      await running
    }
  }

  private receive (bound: Bound, filter: string, msg: JsMsg): void {
    const session = bound.session
    // Gone offline meanwhile: the message goes back to the consumer for the session's next connection.
    if (!session.online) {
      msg.nak()
      return
    }
    if (bound.seen.first(msg.seq)) {
      const message = this.reader.read(msg)
      const subscription = session.subscriptions.get(filter)
      if (message !== undefined && subscription !== undefined) {
        this.access.deliver(session, message, { filter, qos: subscription.qos, options: subscription.options })
      }
    }
    msg.ack()
  }

  private async unbind (clientId: string): Promise<void> {
    const bound = this.bound.get(clientId)
    if (bound === undefined) return
    this.bound.delete(clientId)
    for (const pull of bound.pulls.values()) await (await pull.running)?.close().catch(() => undefined)
  }

  /** Clean start: the consumers and the record of the session the cluster kept go [MQTT-3.1.2-4]. */
  private async forget (clientId: string): Promise<void> {
    await this.unbind(clientId)
    const record = await this.record(clientId)
    if (record === undefined) return
    for (const subscription of record.subscriptions) {
      for (const subject of filterToSubjects(subscription.filter)) {
        await this.jsm?.consumers.delete(STREAM_NAME, sessionConsumerName(clientId, subject)).catch(() => false)
      }
    }
    await this.kv?.delete(`c_${clientKey(clientId)}`)
  }

  private async record (clientId: string): Promise<SessionRecord | undefined> {
    const entry = await this.kv?.get(`c_${clientKey(clientId)}`)
    if (entry === undefined || entry === null || entry.operation !== 'PUT') return undefined
    const record = entry.json<SessionRecord>()
    return record.clientId === clientId && Array.isArray(record.subscriptions) ? record : undefined
  }

  private async save (clientId: string, session: Session): Promise<void> {
    const subscriptions: SessionSubscription[] = []
    for (const [filter, subscription] of session.subscriptions) {
      if (!durable(filter)) continue
      subscriptions.push(subscription.options === undefined ? { filter, qos: subscription.qos } : { filter, qos: subscription.qos, options: subscription.options })
    }
    const record: SessionRecord = { clientId, subscriptions }
    await this.kv?.put(`c_${clientKey(clientId)}`, JSON.stringify(record))
  }
}
