// The JetStream stream QoS 1 and 2 messages cross the cluster on, and the publishing side of it.
//
// A message published with QoS >= 1 on a node goes to the stream ROOST_QOS on the subject
// `$ROOST.q.<subject of its topic>` and to no plain subject. Its publisher is acknowledged (PUBACK,
// PUBREC) only once JetStream has answered that the stream holds it: acknowledged = stored, the rule
// the disk store follows, so a node that dies after the acknowledgement loses nothing it
// acknowledged. Every node, this one included, takes the message back from the stream through its
// consumers (consumers.ts) and delivers it to its own subscribers: one way to every subscriber, so
// nobody gets a QoS 1/2 message twice from a plain subject and the stream.
//
// Each publish carries a message id (Nats-Msg-Id) unique to this node's run; when JetStream does
// not answer (a connection lost under it) or answers with an error, the same publish is tried
// again with the same id, which the stream's duplicate window turns into one stored message
// (exactly once for QoS 2).
// When every attempt fails the node delivers the message to its own subscribers and acknowledges it,
// as it does for everything while NATS is away.
//
// The stream keeps a message while some consumer still wants it (interest retention), on file, so
// a restart of nats-server keeps what it acknowledged.
import { randomBytes } from 'node:crypto'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'

export const STREAM_NAME = 'ROOST_QOS'
/** Subjects of Roost's own traffic on NATS: `$` keeps them from MQTT `#` subscribers [MQTT-4.7.2-1]. */
export const RESERVED_PREFIX = '$ROOST.'
/** Subjects of the stream: the prefix before a topic's subject. */
export const STREAM_PREFIX = '$ROOST.q.'
/** Inboxes of the stream's connection: JetStream's answers and consumer deliveries. */
export const STREAM_INBOX_PREFIX = '$ROOST.inbox'
/** How long the stream remembers message ids, to drop a publish that was tried again (ns). */
const DUPLICATE_WINDOW_NS = 120 * 1e9
/** A message nobody consumed goes after a day at the latest (ns). */
const MAX_AGE_NS = 24 * 3600 * 1e9
/** Attempts of one publish before the node keeps the message to itself. */
const PUBLISH_ATTEMPTS = 3
/** How long one attempt waits for JetStream's answer. */
const PUBLISH_TIMEOUT_MS = 5000
/** How often publishes that got no answer are looked for. */
const SWEEP_MS = 1000
/** JetStream's message id header: a second publish with the same id within the duplicate window is dropped. */
const MSG_ID_HEADER = 'Nats-Msg-Id'

type JetStreamModule = typeof import('@nats-io/jetstream')
let jetStreamModule: Promise<JetStreamModule> | undefined

/** nats.js's JetStream client, loaded with the first cluster link. */
export async function loadJetStream (): Promise<JetStreamModule> {
  jetStreamModule ??= import('@nats-io/jetstream')
  return await jetStreamModule
}

/** Subjects NATS and Roost use for themselves: JetStream's API, key-value and object stores, Roost's stream, inboxes. */
const INTERNAL_SUBJECT = /^(\$JS|\$KV|\$O|\$ROOST|_INBOX)(\.|$)/

/** True for a topic's subject that would reach NATS's or Roost's own traffic: such a topic stays on its node. */
export function isInternalSubject (subject: string): boolean {
  const first = subject.charCodeAt(0)
  return (first === 0x24 || first === 0x5f) && INTERNAL_SUBJECT.test(subject)
}

type KvModule = typeof import('@nats-io/kv')
let kvModule: Promise<KvModule> | undefined

/** nats.js's key-value client, loaded with the first cluster link. */
export async function loadKv (): Promise<KvModule> {
  kvModule ??= import('@nats-io/kv')
  return await kvModule
}

/** The stream a QoS 1/2 message on `subject` (a topic's NATS subject) is stored on. */
export function streamSubject (subject: string): string {
  return STREAM_PREFIX + subject
}

/** Creates the stream, or finds the one another node created. */
export async function ensureStream (jsm: JetStreamManager, logger: Logger): Promise<void> {
  const config = {
    name: STREAM_NAME,
    subjects: [`${STREAM_PREFIX}>`],
    retention: 'interest' as const,
    storage: 'file' as const,
    max_age: MAX_AGE_NS,
    duplicate_window: DUPLICATE_WINDOW_NS
  }
  try {
    await jsm.streams.add(config)
  } catch (error) {
    // Made earlier with other settings (an older node, an operator's edit): used as it is.
    const info = await jsm.streams.info(STREAM_NAME).catch(() => undefined)
    if (info === undefined) throw error
    logger.info(`Cluster: using the existing JetStream stream ${STREAM_NAME} (${(error as Error).message}).`)
  }
}

interface PendingPublish {
  readonly subject: string
  readonly payload: Uint8Array
  readonly headers: MsgHdrs
  readonly resolve: (stored: boolean) => void
  attempts: number
  /** When the attempt under way counts as failed (ms since the epoch). */
  deadlineMs: number
}

/**
 * Publishes onto the stream without a request per message: each publish names a reply subject
 * under one wildcard subscription, and one timer a second looks for answers that did not come, so
 * a message costs a publish and a map entry. Every publish settles, never rejects.
 */
export class StreamPublisher {
  private readonly runId = randomBytes(6).toString('hex')
  private readonly replyPrefix: string
  private readonly pending = new Map<number, PendingPublish>()
  private readonly timer: NodeJS.Timeout
  private count = 0
  /** What JetStream last answered in error, for the log line of a publish given up. */
  private lastError = 'no answer'

  constructor (private readonly nc: NatsConnection, private readonly nodeId: string, private readonly logger: Logger) {
    this.replyPrefix = `${STREAM_INBOX_PREFIX}.acks.${this.runId}.`
    nc.subscribe(`${this.replyPrefix}*`, { callback: this.answered })
    this.timer = setInterval(() => { this.sweep() }, SWEEP_MS).unref()
  }

  /** Resolves true once the stream holds the message; false when it could not be stored. */
  async publish (subject: string, payload: Uint8Array, headers: MsgHdrs): Promise<boolean> {
    const n = ++this.count
    headers.set(MSG_ID_HEADER, `${this.nodeId}.${this.runId}.${n}`)
    return await new Promise<boolean>((resolve) => {
      const entry: PendingPublish = { subject: streamSubject(subject), payload, headers, resolve, attempts: 1, deadlineMs: Date.now() + PUBLISH_TIMEOUT_MS }
      this.pending.set(n, entry)
      this.send(n, entry)
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
    clearInterval(this.timer)
    for (const entry of this.pending.values()) entry.resolve(false)
    this.pending.clear()
  }

  private send (n: number, entry: PendingPublish): void {
    try {
      this.nc.publish(entry.subject, entry.payload, { reply: this.replyPrefix + n, headers: entry.headers })
    } catch {
      // A connection closing: the sweep tries again or gives up.
      entry.deadlineMs = 0
    }
  }

  private readonly answered = (error: Error | null, msg: Msg): void => {
    if (error !== null) return
    const n = Number(msg.subject.slice(this.replyPrefix.length))
    const entry = this.pending.get(n)
    if (entry === undefined) return
    // A PubAck is {"stream":..,"seq":..}; an error is {"error":..}, or an empty 503 (no stream yet).
    if (msg.data.length === 0 || msg.string().includes('"error"')) {
      entry.deadlineMs = 0
      this.lastError = msg.data.length === 0 ? `status ${msg.headers?.code ?? 'empty'}` : msg.string()
      return
    }
    this.pending.delete(n)
    entry.resolve(true)
  }

  /** Tries again, under the same message id, what got no answer or an error; gives up after PUBLISH_ATTEMPTS. */
  private sweep (): void {
    const now = Date.now()
    for (const [n, entry] of this.pending) {
      if (entry.deadlineMs > now) continue
      if (entry.attempts >= PUBLISH_ATTEMPTS) {
        this.pending.delete(n)
        this.logger.warning(`Cluster: JetStream did not store a QoS 1/2 message on '${entry.subject}': ${this.lastError}; it reaches this node's subscribers only.`)
        entry.resolve(false)
        continue
      }
      entry.attempts++
      entry.deadlineMs = now + PUBLISH_TIMEOUT_MS
      this.send(n, entry)
    }
  }
}
