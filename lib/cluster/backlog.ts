// Store and forward for NATS outages: the QoS 1/2 messages this node acknowledged while it could not
// put them on the cluster's stream (NATS unreachable, or JetStream refusing a publish to the end).
// Each is delivered to this node's subscribers at once, as by a broker alone, and kept here, in
// order, until the stream holds it; then every other node delivers it too.
//
// - Kept in an OutboundQueue (lib/bridge/outbound.ts), bounded by backlogMessages and backlogBytes
//   (cluster_backlog_messages, cluster_backlog_bytes): past either, new messages are delivered here
//   only and counted as dropped, with one log line per overflow, as bridges do. With a durable store
//   (`persistence true`) the queue is journaled as a session of its own under a key no client id can
//   name, so what was acknowledged survives a restart, or a kill -9, of the node.
// - Sent when the stream is back, first, in order, in batches: each message carries this node's id
//   (DELIVERED_HEADER) so this node's own consumers, node-wide and per session, pass it over, while
//   every other node delivers it. A message leaves the backlog (and the store) only once JetStream
//   has stored it. New QoS 1/2 messages that arrive while the backlog is being sent wait behind it,
//   their PUBACK/PUBREC too, so each publisher's order holds across the outage [MQTT-4.6.0-2]
//   [MQTT-4.6.0-3]. Within a batch a publish that JetStream refused, or that stalled past its
//   bound (stream-publisher.ts), stays kept and is sent again later, behind messages of the same
//   batch that were stored: order is kept except in that case, and nothing acknowledged is lost.
// - NATS going away under publishes still waiting for JetStream's answer: new QoS 1/2 messages wait
//   (holdUntil) until those are answered, stored or given up and kept, so they are kept after them.
// - QoS 2: delivered once here during the outage; sent once to the stream under a message id the
//   stream deduplicates, so other nodes deliver it once. A publish JetStream stored but whose answer
//   never came (given up after the stall bound, stream-publisher.ts) is sent again under a new id:
//   other nodes may then deliver it twice, the one case where QoS 2 across an outage is at least once.
// - Shared subscriptions: during the outage a member here got the message (when the group had one
//   here). Once sent, JetStream gives it to one node of the group: this node passes it over, another
//   node gives it to one of its members, so the group may get it twice (README, Cluster). A group
//   with no member here during the outage gets it once, after.
// - An expired message (MQTT 5 Message Expiry) is not sent [MQTT-3.3.2-5].
import type { Logger } from '../logger'
import { type HeldMessage, OutboundQueue } from '../bridge/outbound'
import type { QueuedEntry } from '../store/records'
import type { SessionJournal } from '../store/store'
import type { Message } from '../types'

/** The backlog's session key in the store is this prefix and CLUSTER_BACKLOG_NAME: U+0000 is in no client id [MQTT-1.5.4-2]. */
export const CLUSTER_BACKLOG_PREFIX = '\u0000cluster/'
export const CLUSTER_BACKLOG_NAME = 'backlog'
/** Messages kept at most when ClusterOptions.backlogMessages is unset. */
export const DEFAULT_BACKLOG_MESSAGES = 100_000
/** Payload bytes kept at most when ClusterOptions.backlogBytes is unset. */
export const DEFAULT_BACKLOG_BYTES = 100 * 1024 * 1024
/** Messages on their way to the stream at once while the backlog is sent (after a failure: one, until one is stored). */
const SEND_BATCH = 256
/** How often, at most, a change of the backlog is reported ($SYS/cluster/backlog/...). */
const REPORT_MS = 1000

/** Puts one kept message on the stream: resolves true once JetStream holds it. */
export type BacklogPublish = (message: Message) => Promise<boolean>

/** Where a new QoS 1/2 message goes: to the stream now, behind the backlog being sent, or kept (delivered here). */
export type BacklogPlace = 'stream' | 'wait' | 'kept'

export interface BacklogSettings {
  readonly logger: Logger
  /** Where the backlog is journaled: the broker's store. */
  readonly journal: SessionJournal
  /** What the store held in the backlog at open, in order; undefined when nothing. */
  readonly stored: readonly QueuedEntry[] | undefined
  /** The bound in messages (0: none). */
  readonly maxMessages: number
  /** The bound in payload bytes (0: none). */
  readonly maxBytes: number
  /** Told, at most once a REPORT_MS, that the counts changed. */
  readonly changed: () => void
  /** How kept messages reach the stream now; undefined while they cannot (no link, no JetStream). */
  readonly stream: () => BacklogPublish | undefined
  /** Milliseconds before a backlog the stream did not take in full is sent again. */
  readonly retryWaitMs: number
}

export class ClusterBacklog {
  private readonly queue: OutboundQueue
  /** The sending under way, or the wait of holdUntil(); undefined when none. */
  private sending: Promise<boolean> | undefined
  private reportTimer: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private stopped = false
  /** The last sending left messages behind: the next one tries one message before a batch. */
  private failed = false

  constructor (private readonly settings: BacklogSettings) {
    this.queue = new OutboundQueue(CLUSTER_BACKLOG_NAME, settings.journal, settings.stored, CLUSTER_BACKLOG_PREFIX)
    this.queue.maxMessages = settings.maxMessages
    this.queue.maxBytes = settings.maxBytes
    if (this.queue.messages > 0) settings.logger.notice(`Cluster: ${this.queue.messages} QoS 1/2 messages kept while NATS was away are waiting for the stream.`)
  }

  /** Messages kept and not yet on the stream. */
  get messages (): number { return this.queue.messages }
  /** Their payload bytes. */
  get bytes (): number { return this.queue.bytes }
  /** Messages not kept because the backlog was full, since the node started. */
  get dropped (): number { return this.queue.dropped }

  /**
   * Where a new QoS 1/2 message goes. `streamUp`: the link is connected with JetStream. 'kept'
   * messages (or, past the bound, ones counted as dropped) are for this node's subscribers now.
   */
  place (message: Message, streamUp: boolean): BacklogPlace {
    if (this.sending !== undefined) return 'wait'
    if (streamUp && this.queue.messages === 0) return 'stream'
    this.keep(message)
    return 'kept'
  }

  /** Keeps a message this node delivered here and could not put on the stream. */
  keep (message: Message): void {
    const held = this.queue.take(message, message.qos, message.retain)
    if (held === undefined) {
      if (!this.queue.overflowing) this.settings.logger.warning(`Cluster: ${this.queue.messages} QoS 1/2 messages kept for NATS; new ones reach this node's subscribers only (cluster backlog bound).`)
      this.queue.overflowing = true
    } else {
      this.queue.overflowing = false
    }
    this.report()
  }

  /**
   * New messages wait (place() says 'wait') until `settled()` resolves, unless they wait already;
   * then the backlog is sent if it can be.
   */
  holdUntil (settled: () => Promise<void>): void {
    if (this.sending !== undefined) return
    this.sending = settled().then(() => true).finally(() => {
      this.sending = undefined
      this.send()
    })
  }

  /** Resolves once the sending under way (if any) ended. */
  async idle (): Promise<void> {
    await this.sending
  }

  /**
   * Sends what is kept to the stream (when it can be reached), in order, SEND_BATCH at a time;
   * what stays (JetStream refused it, or the link went away) is sent again after retryWaitMs. At
   * most one sending runs.
   */
  send (): void {
    const publish = this.settings.stream()
    if (this.stopped || this.sending !== undefined || publish === undefined || this.queue.messages === 0) return
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.sending = this.sendAll(publish).finally(() => { this.sending = undefined })
    void this.sending.then((complete) => { if (!complete) this.sendLater() })
  }

  /** send() after retryWaitMs, unless one is planned already. */
  sendLater (): void {
    if (this.stopped || this.retryTimer !== undefined) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.send()
    }, this.settings.retryWaitMs)
  }

  /** The node stops: no more sending or reports. What is kept stays in the store for the next start. */
  stop (): void {
    this.stopped = true
    clearTimeout(this.reportTimer)
    clearTimeout(this.retryTimer)
  }

  private async sendAll (publish: BacklogPublish): Promise<boolean> {
    const total = this.queue.messages
    if (total === 0) return true
    this.settings.logger.notice(`Cluster: sending ${total} QoS 1/2 messages kept while NATS was away to the stream.`)
    let complete = true
    while (complete && this.queue.messages > 0) {
      // After a failure, one message first: a stream still refusing costs one attempt (and one log line), not a batch.
      const batch = this.queue.pending().slice(0, this.failed ? 1 : SEND_BATCH)
      const now = Date.now()
      const stored = await Promise.all(batch.map(async (held) => await this.sendOne(held, publish, now)))
      for (const [index, held] of batch.entries()) {
        if (stored[index] === true) this.queue.settle(held.seq)
        else complete = false
      }
      this.failed = !complete
      this.report()
    }
    if (complete) this.settings.logger.notice(`Cluster: the ${total} QoS 1/2 messages kept while NATS was away are on the stream.`)
    else if (!this.stopped) this.settings.logger.warning(`Cluster: ${this.queue.messages} QoS 1/2 messages kept while NATS was away could not be stored on the stream yet; trying again later.`)
    return complete
  }

  private async sendOne (held: HeldMessage, publish: BacklogPublish, now: number): Promise<boolean> {
    const expiresAt = held.message.expiresAt
    // [MQTT-3.3.2-5] expired while kept: nobody gets it any more
    if (expiresAt !== undefined && expiresAt <= now) return true
    return await publish(held.message)
  }

  private report (): void {
    if (this.reportTimer !== undefined) return
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined
      this.settings.changed()
    }, REPORT_MS).unref()
  }
}
