// This node's consumers on the QoS 1/2 stream (stream.ts): what it takes back from JetStream.
//
// nats-server 2.9 gives a consumer one filter subject, so there is one consumer per NATS subject
// this node's subscribers need (SubjectInterest's entries), beside the plain subscription for QoS 0:
// - an ordinary subscription's subject: an ordered consumer (ephemeral, no acknowledgements, the
//   stream's order, made again where it left off after a NATS outage). What it brings goes to this
//   node's subscribers through admission and the router, as any message from another node.
//   Filters that overlap ('a/#' and 'a/+') have consumers that both bring a message on 'a/b': the
//   stream sequence number lets the first through and drops the second, so each subscriber here
//   gets the message once.
// - a shared subscription's subject: one durable consumer per (group, filter, subject), the same
//   on every node, which every node with members pulls from: JetStream gives each message to one
//   node, which gives it to one member [MQTT 5.0, 4.8.2], and acknowledges it after.
import { createHash } from 'node:crypto'
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { Logger } from '../logger'
import type { Message, Origin } from '../types'
import type { SubjectEntry } from './interest'
import { STREAM_NAME, STREAM_PREFIX, streamSubject } from './stream'
import { DELIVERED_HEADER, EXPIRY_HEADER, ORIGIN_HEADER, incomingMessage } from './wire'

/** How many stream sequence numbers this node remembers to drop a second copy from an overlapping consumer. */
const SEEN_WINDOW = 65_536
/** A shared subscription's consumer outlives its last member by this long (ns), keeping its messages. */
const SHARED_INACTIVE_NS = 300 * 1e9
/** Messages one consumer may have on their way to this node at once. */
const BATCH = 1000
/**
 * How long one pull lasts (JetStream's heartbeats come every half of it). nats.js pulls again after
 * two missed heartbeats, and waits this long between its questions to a consumer that does not
 * answer (a leader election): after a NATS server's death took a consumer's leader, pulls resume
 * within seconds rather than nats.js's 30 s.
 */
export const PULL_EXPIRES_MS = 5000
/**
 * Missed heartbeats after which an ordered consumer is made again, from the sequence after the last
 * it brought: one that lived on a NATS server that died gets no answer from JetStream, and nats.js
 * would ask after it without end.
 */
const STALLED_HEARTBEATS = 3

/** The last stream sequence an ordered consumer brought; 0 before its first message. */
interface Cursor { lastSeq: number }

/** Where what the consumers bring goes. */
export interface StreamSink {
  /** This node's id: what it sent from its backlog (DELIVERED_HEADER) it delivered here already. */
  readonly nodeId: string
  readonly logger: Logger
  readonly maxTopicLevels: number
  /** A message for this node's subscribers (shared groups excepted). */
  deliverHere (message: Message): void
  /** A message JetStream gave this node for the shared subscription `$share/<group>/<levelsFilter>`. */
  deliverShared (message: Message, levelsFilter: string, group: string): void
}

/** The durable consumer of a shared subscription's subject: the same name on every node. */
export function sharedConsumerName (queue: string, subject: string): string {
  return `${queue}_${createHash('sha256').update(subject).digest('hex').slice(0, 12)}`
}

export class StreamConsumers {
  private readonly running = new Map<SubjectEntry, Promise<ConsumerMessages | undefined>>()
  private js: JetStreamClient | undefined
  private jsm: JetStreamManager | undefined
  /** Stream sequence numbers delivered here lately. */
  private readonly seen = new SeenSequences(SEEN_WINDOW)
  private readonly reader: StreamReader
  /** Shared subscriptions are no session's own: a persistent member takes them from here too. */
  private readonly sharedReader: StreamReader

  constructor (private readonly sink: StreamSink) {
    this.reader = new StreamReader(sink, true)
    this.sharedReader = new StreamReader(sink, false)
  }

  /** JetStream is reachable: opens a consumer for every entry given before. */
  attach (js: JetStreamClient, jsm: JetStreamManager, entries: Iterable<SubjectEntry>): void {
    this.js = js
    this.jsm = jsm
    for (const entry of entries) this.open(entry)
  }

  /** `fromSeq`: where an ordered consumer made again starts; new messages only when unset. */
  open (entry: SubjectEntry, fromSeq?: number): void {
    if (this.js === undefined || this.running.has(entry)) return
    const started = this.start(entry, this.js, this.jsm as JetStreamManager, fromSeq).catch((error: unknown) => {
      this.sink.logger.warning(`Cluster: cannot consume QoS 1/2 messages on '${entry.subject}' from JetStream: ${(error as Error).message}.`)
      return undefined
    })
    this.running.set(entry, started)
  }

  close (entry: SubjectEntry): void {
    const started = this.running.get(entry)
    if (started === undefined) return
    this.running.delete(entry)
    void started.then(async (messages) => { await messages?.close() })
  }

  /** Resolves once every consumer asked for so far is in place. */
  async sync (): Promise<void> {
    await Promise.all(this.running.values())
  }

  /** Stops every consumer (the connection closes after). */
  async stop (): Promise<void> {
    const started = [...this.running.values()]
    this.running.clear()
    this.js = undefined
    for (const messages of await Promise.all(started)) await messages?.close().catch(() => undefined)
  }

  private async start (entry: SubjectEntry, js: JetStreamClient, jsm: JetStreamManager, fromSeq: number | undefined): Promise<ConsumerMessages> {
    const filter = streamSubject(entry.subject)
    const share = entry.share
    if (share === undefined) {
      const consumer = await js.consumers.get(STREAM_NAME, fromSeq === undefined
        ? { filter_subjects: filter, deliver_policy: 'new' }
        : { filter_subjects: filter, deliver_policy: 'by_start_sequence', opt_start_seq: fromSeq })
      const cursor: Cursor = { lastSeq: fromSeq === undefined ? 0 : fromSeq - 1 }
      const messages = await consumer.consume({
        max_messages: BATCH,
        expires: PULL_EXPIRES_MS,
        callback: (msg) => {
          cursor.lastSeq = msg.seq
          this.receive(msg)
        }
      })
      void this.remakeWhenStalled(entry, messages, cursor)
      return messages
    }
    const name = sharedConsumerName(share.queue, entry.subject)
    await jsm.consumers.add(STREAM_NAME, {
      durable_name: name,
      filter_subject: filter,
      ack_policy: 'explicit',
      deliver_policy: 'new',
      inactive_threshold: SHARED_INACTIVE_NS
    })
    const consumer = await js.consumers.get(STREAM_NAME, name)
    return await consumer.consume({
      max_messages: BATCH,
      expires: PULL_EXPIRES_MS,
      callback: (msg) => {
        const message = this.sharedReader.read(msg)
        if (message !== undefined) this.sink.deliverShared(message, share.levelsFilter, share.group)
        msg.ack()
      }
    })
  }

  /** Makes an ordered consumer again once it stalled (see STALLED_HEARTBEATS); ends with the consumer. */
  private async remakeWhenStalled (entry: SubjectEntry, messages: ConsumerMessages, cursor: Cursor): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type !== 'heartbeats_missed' || status.count < STALLED_HEARTBEATS) continue
      const started = this.running.get(entry)
      // Closed, or already made again.
      if (started === undefined || (await started) !== messages) return
      this.running.delete(entry)
      // Before its first message it cannot say where it was: new messages then.
      const fromSeq = cursor.lastSeq === 0 ? undefined : cursor.lastSeq + 1
      this.sink.logger.info(`Cluster: the consumer of '${entry.subject}' on JetStream went silent; made again from stream sequence ${fromSeq ?? 'new'}.`)
      await messages.close().catch(() => undefined)
      this.open(entry, fromSeq)
      return
    }
  }

  private readonly receive = (msg: JsMsg): void => {
    if (!this.seen.first(msg.seq)) return
    const message = this.reader.read(msg)
    if (message !== undefined) this.sink.deliverHere(message)
  }

}

/** Turns stream messages into messages, with one origin object per publisher id (a message allocates none). */
export class StreamReader {
  private readonly origins = new Map<string, Origin>()

  /** `nodeStream`: for the node's own consumers (Origin.nodeStream); false for a session's. */
  constructor (private readonly sink: Pick<StreamSink, 'nodeId' | 'logger' | 'maxTopicLevels'>, private readonly nodeStream: boolean) {}

  /** The message a stream message brings; undefined (logged) when it is no MQTT message, or expired. */
  read (msg: JsMsg): Message | undefined {
    const headers = msg.headers
    // Sent from this node's backlog after an outage: its subscribers here had it then (backlog.ts).
    if (headers?.get(DELIVERED_HEADER) === this.sink.nodeId) return undefined
    const storedForMs = headers?.has(EXPIRY_HEADER) === true ? Math.max(0, Date.now() - Number(msg.timestampNanos / 1_000_000n)) : 0
    const message = incomingMessage(msg, this.originOf(headers?.get(ORIGIN_HEADER) ?? ''), this.sink.maxTopicLevels, msg.subject.slice(STREAM_PREFIX.length), storedForMs)
    if (typeof message === 'string') {
      this.sink.logger.warning(`Cluster: dropped a message from JetStream: ${message}.`)
      return undefined
    }
    // [MQTT-3.3.2-5] a message whose expiry passed while it waited is not delivered
    if (message.expiresAt !== undefined && message.expiresAt <= Date.now()) return undefined
    return message
  }

  private originOf (clientId: string): Origin {
    let origin = this.origins.get(clientId)
    if (origin === undefined) {
      // Bounded: a cluster with very many publishers makes the objects again rather than hold them all.
      if (this.origins.size >= 10_000) this.origins.clear()
      const id = clientId === '' ? '$cluster' : clientId
      origin = Object.freeze(this.nodeStream ? { kind: 'cluster', clientId: id, nodeStream: true } : { kind: 'cluster', clientId: id })
      this.origins.set(clientId, origin)
    }
    return origin
  }
}

/** Stream sequence numbers seen lately, to let the first of several copies through: a ring and a set. */
export class SeenSequences {
  private readonly ring: Float64Array
  private readonly set = new Set<number>()
  private at = 0

  constructor (size: number) { this.ring = new Float64Array(size) }

  /** True the first time `seq` comes (within the window), false after. */
  first (seq: number): boolean {
    if (this.set.has(seq)) return false
    const old = this.ring[this.at] as number
    if (old !== 0) this.set.delete(old)
    this.ring[this.at] = seq
    this.at = (this.at + 1) % this.ring.length
    this.set.add(seq)
    return true
  }

  /** Lets `seq` through again (a message given back, offered anew). */
  forget (seq: number): void {
    this.set.delete(seq)
  }
}
