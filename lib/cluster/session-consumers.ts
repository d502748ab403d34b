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
//   filter subject `$ROOST.q.<subject>`, explicit acknowledgement, ack wait 10 s, at most 1000
//   messages unacknowledged, deliver new, inactive threshold = the session expiry (none for a session
//   that never expires), so JetStream ends it with the session.
//   Only the node the client is connected to pulls from it; offline, it holds the session's queue.
// - The key-value bucket ROOST_SESSION_SUBS, key `c_<client key>`, value JSON
//   `{ "clientId": "...", "subscriptions": [{ "filter": "...", "qos": 1, "options": {...} }] }`:
//   the session's subscriptions (non-shared, with a NATS subject), so the node a client comes back
//   to can subscribe it again and find its consumers. That node reads it before CONNACK (held()):
//   a record means Session Present 1 [MQTT-3.2.2-2] (MQTT 5.0, 3.2.2.1.1).
//
// The node's own consumers (consumers.ts) pass such a session over (Session.servedByCluster): each
// message reaches it once, from its own consumers. A message two of its filters match comes from
// both consumers; the stream sequence lets the first through [MQTT-3.3.5-1].
//
// Acknowledgement: a message stays unacknowledged on its consumer while the session has it
// (HeldStreamMessage, the message's holder), and is acknowledged when the client completes it
// (PUBACK; PUBCOMP for QoS 2, see receive()) or the session drops it. When the client's
// connection ends, here or by a takeover from another node, the session gives back (nak) all it
// held, so the node the client is on next gets it at once. A node that dies leaves its messages
// unacknowledged: JetStream offers them again after the ack wait, to the session's next node.
// JetStream offering again what this node still has (the ack wait ran out) is recognised by the
// stream sequence and not sent twice [MQTT-4.3.3]; working() keeps that from happening while the
// client is connected.
//
// Limits today:
// - Across a node's death a QoS 1 message may arrive twice (completed by the client, not yet
//   acknowledged on JetStream when the node died); QoS 1 allows it.
// - What a session gives back is sent again under a new packet id, without DUP, also when the client
//   comes back to the same node, rather than re-sent with its own [MQTT-4.4.0-1]. For a QoS 2
//   message after PUBREC the new node knows no PUBREL to send: clients that hand QoS 2 messages to
//   the application at PUBREL (MQTT.js, paho, libmosquitto) get it once, a client that does so at
//   PUBLISH may get it twice.
// - The record is not removed when a session expires (its consumers are, by JetStream): a client
//   back after its session expired, on a node that did not hold it, is told Session Present 1 and
//   gets its subscriptions back. MQTT 5 Clean Start 0 with Session Expiry 0 does not ask the cluster.
// - A node that restarts from a disk store resends what its sessions had in flight, and JetStream
//   offers the same messages again: a second copy.
// - Between a SUBSCRIBE and the making of its consumer (one round trip), a message may reach the
//   session twice.
import { createHash } from 'node:crypto'
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { KV } from '@nats-io/kv'
import type { Logger } from '../logger'
import type { Session } from '../session/session'
import { SESSION_NEVER_EXPIRES } from '../session/session'
import type { Message, MessageHolder, QoS, SubscriptionOptions } from '../types'
import { PULL_EXPIRES_MS, SeenSequences, StreamReader } from './consumers'
import { STREAM_NAME, streamSubject } from './stream'
import { filterToSubjects } from './subjects'

export const SESSION_BUCKET = 'ROOST_SESSION_SUBS'
/** Messages one session consumer may have on their way to this node at once. */
const BATCH = 100
/** Stream sequences a session remembers, to drop the copy a second matching filter brings. */
const SEEN_WINDOW = 4096
/**
 * How long JetStream waits for the acknowledgement of a message it gave a session's consumer
 * before it offers the message again (ns). The node acknowledges when the client completes the
 * message, and gives back (nak) what its client left behind or took elsewhere, so this wait only
 * matters when the node died holding messages: they reach the session's next node after it. Short
 * enough that a client which reconnects elsewhere at once gets them soon after; a node holding a
 * message for a slow client says so (working()) every ACK_WAIT_NS / 3, so the wait never runs out
 * under a live node.
 */
const ACK_WAIT_NS = 10 * 1e9
/** How often a node tells JetStream it is still working on what its connected sessions hold. */
const WORKING_EVERY_MS = ACK_WAIT_NS / 1e6 / 3
/**
 * Messages handed out and not yet acknowledged, per consumer, after which JetStream waits: it holds
 * a session's backlog on the stream rather than in the node's memory.
 */
const MAX_ACK_PENDING = 1000
/** A message that reaches a session gone offline goes back for this long (ms), not straight back to the same closing pull. */
const OFFLINE_NAK_DELAY_MS = 500
/**
 * What a session gave back is offered again after this long (ms) once its pulls are closed:
 * nats-server may still hold the last pull request of the closed pull for a moment, and a message
 * offered to it at once would wait out ACK_WAIT_NS instead of reaching the session's next node.
 */
const RETURN_NAK_DELAY_MS = 300

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
  /** This node's id (StreamReader passes over what this node delivered from its backlog). */
  readonly nodeId: string
  readonly logger: Logger
  readonly maxTopicLevels: number
  /** The session of `clientId` while it is connected here, when it outlives its connection. */
  persistentSession (clientId: string): Session | undefined
  /** Subscribes the session again to what another node recorded (asked of the authorizers again, no retained messages). */
  restore (session: Session, subscription: SessionSubscription): void
  /** Delivers a message of the session's consumers to it, as the router would, after admission; false when it was not for the session. */
  deliver (session: Session, message: Message, subscription: SessionSubscription): boolean
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
  /** Stream sequence → the message the session has and its client has not completed. */
  readonly held: Map<number, HeldStreamMessage>
  /**
   * Messages the session gave back while its pulls were still open: given back to JetStream once
   * they are closed, or JetStream would offer them to this node's closing pulls again.
   */
  readonly returned: JsMsg[]
  /** Its pulls run (until unbind()). */
  pulling: boolean
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
  private workingTimer: NodeJS.Timeout | undefined

  constructor (private readonly access: SessionAccess) {
    this.reader = new StreamReader(access, false)
  }

  attach (js: JetStreamClient, jsm: JetStreamManager, kv: KV): void {
    this.js = js
    this.jsm = jsm
    this.kv = kv
    if (this.workingTimer === undefined) {
      this.workingTimer = setInterval(() => { this.stillWorking() }, WORKING_EVERY_MS)
      this.workingTimer.unref()
    }
  }

  /**
   * Whether the cluster keeps a session for `clientId` (its record), for the Session Present of a
   * CONNACK [MQTT-3.2.2-2] (MQTT 5.0, 3.2.2.1.1); undefined when the bucket does not answer within
   * `timeoutMs` or is out of reach, said in the log: the node then answers from what it knows.
   */
  async held (clientId: string, timeoutMs: number): Promise<boolean | undefined> {
    if (this.kv === undefined) {
      this.access.logger.notice(`Cluster: no JetStream to ask whether it keeps the session of ${clientId}; CONNACK says what this node knows.`)
      return undefined
    }
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(resolve, timeoutMs, 'late') })
    try {
      const answer = await Promise.race([this.record(clientId), late])
      if (answer !== 'late') return answer !== undefined
      this.access.logger.warning(`Cluster: JetStream did not say within ${timeoutMs} ms whether it keeps the session of ${clientId}; CONNACK says what this node knows.`)
    } catch (error) {
      this.access.logger.warning(`Cluster: cannot read the session of ${clientId} in JetStream (${(error as Error).message}); CONNACK says what this node knows.`)
    } finally {
      clearTimeout(timer)
    }
    return undefined
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
    clearInterval(this.workingTimer)
    this.workingTimer = undefined
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
    const bound: Bound = { session, seen: new SeenSequences(SEEN_WINDOW), held: new Map(), returned: [], pulling: true, pulls: new Map() }
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
        ack_wait: ACK_WAIT_NS,
        max_ack_pending: MAX_ACK_PENDING,
        deliver_policy: 'new' as const,
        ...(expiry === SESSION_NEVER_EXPIRES ? {} : { inactive_threshold: expiry * 1e9 })
      }
      // Already there (made by this session on another node): used as it is.
      await jsm.consumers.add(STREAM_NAME, config).catch(() => undefined)
      const running = js.consumers.get(STREAM_NAME, name)
        .then(async (consumer) => await consumer.consume({ max_messages: BATCH, expires: PULL_EXPIRES_MS, callback: (msg) => { this.receive(bound, filter, name, msg) } }))
        .catch((error: unknown) => {
          this.access.logger.warning(`Cluster: cannot pull the queue of ${clientId} on '${filter}': ${(error as Error).message}.`)
          return undefined
        })
      bound.pulls.set(name, { running, filter })
      await running
    }
  }

  /**
   * A message of one of the session's consumers. It is acknowledged on JetStream only when the
   * session is done with it (its client's PUBACK, or PUBCOMP for QoS 2, or a drop), through the
   * HeldStreamMessage the message carries: until then the consumer keeps it, for the session's next
   * node should this one die or the client go elsewhere. PUBCOMP rather than PUBREC for QoS 2:
   * MQTT.js, paho and libmosquitto hand a QoS 2 message to their application at PUBREL, so one whose
   * PUBREL a dead node never sent would be lost; offered again by the next node under a new packet
   * id, it reaches such a client's application once.
   */
  private receive (bound: Bound, filter: string, consumer: string, msg: JsMsg): void {
    const session = bound.session
    // Gone offline meanwhile: the message goes back to the consumer for the session's next connection.
    if (!session.online) {
      msg.nak(OFFLINE_NAK_DELAY_MS)
      return
    }
    const holding = bound.held.get(msg.seq)
    if (holding !== undefined) {
      // The same consumer again: JetStream offers what the client has not completed yet; the
      // session still has it, and answers for it through this newer delivery [MQTT-4.3.3-1].
      if (holding.consumer === consumer) holding.msg = msg
      // A second filter's copy: the first consumer keeps the message until the client completes it.
      else msg.ack()
      return
    }
    if (!bound.seen.first(msg.seq)) {
      msg.ack()
      return
    }
    const message = this.reader.read(msg)
    const subscription = session.subscriptions.get(filter)
    if (message === undefined || subscription === undefined) {
      msg.ack()
      return
    }
    const holder = new HeldStreamMessage(bound, consumer, msg)
    bound.held.set(msg.seq, holder)
    message.heldBy = holder
    if (!this.access.deliver(session, message, { filter, qos: subscription.qos, options: subscription.options })) holder.settled()
  }

  /** Tells JetStream that what connected sessions hold is still being worked on: a slow client gets no second copy. */
  private stillWorking (): void {
    for (const bound of this.bound.values()) {
      if (!bound.session.online) continue
      for (const holder of bound.held.values()) holder.msg.working()
    }
  }

  private async unbind (clientId: string): Promise<void> {
    const bound = this.bound.get(clientId)
    if (bound === undefined) return
    this.bound.delete(clientId)
    bound.pulling = false
    for (const pull of bound.pulls.values()) await (await pull.running)?.close().catch(() => undefined)
    for (const msg of bound.returned.splice(0)) msg.nak(RETURN_NAK_DELAY_MS)
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

/**
 * A stream message a session has and its client has not completed: acknowledged on JetStream when
 * the session settles it, given back (nak) when the session returns it, so JetStream offers it at
 * once to whichever node the session is on next.
 */
class HeldStreamMessage implements MessageHolder {
  constructor (private readonly bound: Bound, readonly consumer: string, public msg: JsMsg) {}

  settled (): void {
    this.bound.held.delete(this.msg.seq)
    this.msg.ack()
  }

  returned (): void {
    this.bound.held.delete(this.msg.seq)
    // Offered again, here too when the client comes back here: not a copy to drop.
    this.bound.seen.forget(this.msg.seq)
    if (this.bound.pulling) this.bound.returned.push(this.msg)
    else this.msg.nak(RETURN_NAK_DELAY_MS)
  }
}
