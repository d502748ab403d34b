// The publishing side of the QoS 1/2 stream (stream.ts): a message is acknowledged to its MQTT
// publisher only once JetStream answered that the stream holds it.
//
// Each publish names a reply subject under one wildcard subscription and carries a message id
// (Nats-Msg-Id) unique to this node's run, so a publish tried again is stored once (the stream's
// duplicate window): exactly once for QoS 2.
//
// Across a failover. A NATS server that dies takes the connections to it and, with a replicated
// stream (ClusterOptions.replicas), maybe the stream's leader: the node reconnects to a survivor and
// JetStream elects a new leader, seconds in all, during which publishes get no answer or a 503 (no
// responders, "temporarily unavailable"). The publisher then *stalls*: it sends nothing, holds every
// publish (new ones too, so none overtakes an older one: per-publisher order [MQTT-4.6.0-6]) and asks
// once a second whether the stream has a leader again; once it has, it sends everything held, oldest
// first. A message that may have been stored already (its answer lost) is stored once, by its id.
// A stall bounded by STALL_GIVE_UP_MS: past it, what is held, and what comes until the stream
// answers again, is given up: the link delivers it to this node's subscribers and keeps it in the
// backlog (backlog.ts), as while NATS is away.
// An answer that is an error other than "unavailable" (a message JetStream refuses) gives that one
// message up at once, without a stall.
import { randomBytes } from 'node:crypto'
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'
import { STREAM_INBOX_PREFIX, STREAM_NAME, streamSubject } from './stream'

/** How long one publish waits for JetStream's answer before the publisher stalls. */
const ANSWER_TIMEOUT_MS = 5000
/** How long the publisher holds messages while the stream does not answer (a NATS server's death, a leader election). */
export const STALL_GIVE_UP_MS = 20_000
/** How often unanswered publishes are looked for, and a stalled stream asked for its leader. */
const SWEEP_MS = 1000
/** JetStream's message id header: a second publish with the same id within the duplicate window is dropped. */
const MSG_ID_HEADER = 'Nats-Msg-Id'
/** JetStream's API subject that tells whether the stream has a leader. */
const STREAM_INFO_SUBJECT = `$JS.API.STREAM.INFO.${STREAM_NAME}`
/** The status (no responders) and JetStream error code of a stream that cannot take a message now. */
const UNAVAILABLE = 503

interface PendingPublish {
  readonly subject: string
  readonly payload: Uint8Array
  readonly headers: MsgHdrs
  readonly resolve: (stored: boolean) => void
  /** When the attempt under way counts as unanswered (ms since the epoch); 0 while held. */
  deadlineMs: number
}

/** Every publish settles (true: stored), never rejects. */
export class StreamPublisher {
  private readonly runId = randomBytes(6).toString('hex')
  private readonly replyPrefix: string
  /** Publishes waiting for JetStream, oldest first (Map keeps insertion order). */
  private readonly pending = new Map<number, PendingPublish>()
  private readonly timer: NodeJS.Timeout
  private count = 0
  /** When the stall under way began (ms since the epoch); 0 while the stream answers. */
  private stalledSinceMs = 0
  /** The stall lasted past STALL_GIVE_UP_MS: messages stay on this node until the stream answers. */
  private givenUp = false
  private probing = false
  private closed = false
  /** What JetStream last answered in error, for the log. */
  private lastError = 'no answer'

  constructor (private readonly nc: NatsConnection, private readonly nodeId: string, private readonly logger: Logger) {
    this.replyPrefix = `${STREAM_INBOX_PREFIX}.acks.${this.runId}.`
    nc.subscribe(`${this.replyPrefix}*`, { callback: this.answered })
    this.timer = setInterval(() => { this.sweep() }, SWEEP_MS).unref()
    void this.followConnection()
  }

  /** Resolves true once the stream holds the message; false when it could not be stored. */
  async publish (subject: string, payload: Uint8Array, headers: MsgHdrs): Promise<boolean> {
    if (this.givenUp) return false
    const n = ++this.count
    headers.set(MSG_ID_HEADER, `${this.nodeId}.${this.runId}.${n}`)
    return await new Promise<boolean>((resolve) => {
      const entry: PendingPublish = { subject: streamSubject(subject), payload, headers, resolve, deadlineMs: 0 }
      this.pending.set(n, entry)
      if (this.stalledSinceMs === 0) this.send(n, entry, Date.now())
    })
  }

  /** Resolves once every publish has its answer, or after `waitMs` (looked at every 10 ms). */
  async settled (waitMs: number): Promise<void> {
    for (let waited = 0; this.pending.size > 0 && waited < waitMs; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Every publish still waiting settles as not stored; the subscription ends with its connection, closed next. */
  close (): void {
    this.closed = true
    clearInterval(this.timer)
    for (const entry of this.pending.values()) entry.resolve(false)
    this.pending.clear()
  }

  private send (n: number, entry: PendingPublish, now: number): void {
    entry.deadlineMs = now + ANSWER_TIMEOUT_MS
    try {
      this.nc.publish(entry.subject, entry.payload, { reply: this.replyPrefix + n, headers: entry.headers })
    } catch {
      // A connection closing: held until the stream answers again.
      this.stall()
    }
  }

  private readonly answered = (error: Error | null, msg: Msg): void => {
    if (error !== null) return
    const n = Number(msg.subject.slice(this.replyPrefix.length))
    const entry = this.pending.get(n)
    if (entry === undefined) return
    // A PubAck is {"stream":..,"seq":..}; an error is {"error":{"code":..}}, or an empty 503 (no responders).
    const code = msg.data.length === 0 ? (msg.headers?.code ?? UNAVAILABLE) : errorCode(msg.string())
    if (code === undefined) {
      this.pending.delete(n)
      entry.resolve(true)
      return
    }
    this.lastError = msg.data.length === 0 ? `status ${code}` : msg.string()
    if (code === UNAVAILABLE) {
      this.stall()
      return
    }
    this.pending.delete(n)
    this.logger.warning(`Cluster: JetStream refused a QoS 1/2 message on '${entry.subject}': ${this.lastError}; it reaches this node's subscribers only.`)
    entry.resolve(false)
  }

  private stall (): void {
    if (this.stalledSinceMs !== 0 || this.closed) return
    this.stalledSinceMs = Date.now()
    this.logger.info(`Cluster: JetStream is not storing QoS 1/2 messages now (${this.lastError}); holding them until the stream answers again.`)
  }

  /** The stream answers again: everything held goes out, oldest first. */
  private resume (): void {
    if (this.stalledSinceMs === 0) return
    const now = Date.now()
    this.logger.info(`Cluster: JetStream answers again after ${now - this.stalledSinceMs} ms; sending the ${this.pending.size} QoS 1/2 message(s) held.`)
    this.stalledSinceMs = 0
    this.givenUp = false
    for (const [n, entry] of this.pending) this.send(n, entry, now)
  }

  private sweep (): void {
    const now = Date.now()
    if (this.stalledSinceMs === 0) {
      for (const entry of this.pending.values()) {
        if (entry.deadlineMs > now) continue
        this.lastError = 'no answer'
        this.stall()
        break
      }
    }
    if (this.stalledSinceMs === 0) return
    if (!this.givenUp && now - this.stalledSinceMs > STALL_GIVE_UP_MS) this.giveUp()
    void this.probe()
  }

  /** The stall went on too long: what is held, and what comes until the stream answers, stays on this node. */
  private giveUp (): void {
    this.givenUp = true
    this.logger.warning(`Cluster: JetStream did not store QoS 1/2 messages for ${STALL_GIVE_UP_MS} ms (${this.lastError}); ${this.pending.size} held and those that follow reach this node's subscribers only until it answers again.`)
    for (const entry of this.pending.values()) entry.resolve(false)
    this.pending.clear()
  }

  /** Asks whether the stream has a leader; resumes when it has. One question at a time. */
  private async probe (): Promise<void> {
    if (this.probing || this.closed) return
    this.probing = true
    try {
      const answer = await this.nc.request(STREAM_INFO_SUBJECT, undefined, { timeout: SWEEP_MS })
      const info = answer.json<{ error?: unknown, cluster?: { leader?: string } }>()
      // Without a NATS cluster there is no leader to name: an answer without an error is enough.
      if (info.error === undefined && (info.cluster === undefined || (info.cluster.leader ?? '') !== '')) this.resume()
    } catch {
      // No answer: asked again at the next sweep.
    } finally {
      this.probing = false
    }
  }

  /** The connection lost: stall at once, so nothing sent meanwhile overtakes what the lost connection carried. */
  private async followConnection (): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.closed) break
      if (status.type === 'disconnect') this.stall()
      else if (status.type === 'reconnect') void this.probe()
    }
  }
}

/** The code of a JetStream error answer; undefined for a PubAck. */
function errorCode (text: string): number | undefined {
  if (!text.includes('"error"')) return undefined
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code
    return typeof code === 'number' ? code : 0
  } catch {
    return 0
  }
}
