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
// Publishing, with a message id per publish and what happens across a NATS failover, is
// stream-publisher.ts. The stream and the buckets are kept on ClusterOptions.replicas NATS servers
// (replicas.ts).
//
// The stream keeps a message while some consumer still wants it (interest retention), on file, so
// a restart of nats-server keeps what it acknowledged.
import type { JetStreamManager } from '@nats-io/jetstream'
import type { Logger } from '../logger'
import { matchReplicas } from './replicas'

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

/** The stream a QoS 1/2 message on `subject` (a topic's NATS subject) is stored on. */
export function streamSubject (subject: string): string {
  return STREAM_PREFIX + subject
}

/** Creates the stream with `replicas` copies, or finds the one another node created and brings it to that many. */
export async function ensureStream (jsm: JetStreamManager, replicas: number, logger: Logger): Promise<void> {
  const config = {
    name: STREAM_NAME,
    num_replicas: replicas,
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
    if (info === undefined) throw new Error(`cannot make stream ${STREAM_NAME} with ${replicas} replica(s): ${(error as Error).message}`)
    logger.info(`Cluster: using the existing JetStream stream ${STREAM_NAME} (${(error as Error).message}).`)
    await matchReplicas(jsm, STREAM_NAME, replicas, logger)
  }
}
