// The disk store's records, one small binary body each (lib/store/frame.ts frames them). Message
// bodies are written once, under their id; queue and inflight records refer to that id. The rare
// records (a session's own fields, a subscription) carry JSON, the frequent ones fixed fields.
import type { Message, Origin, OriginKind, PublishProperties, QoS } from '../types'
import type { FieldReader, FrameWriter } from './frame'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredSubscription, StoredWill } from './records'

export const RECORD = {
  message: 1,
  retainedSet: 2,
  retainedRemoved: 3,
  sessionSaved: 4,
  sessionRemoved: 5,
  subscriptionSaved: 6,
  subscriptionRemoved: 7,
  queued: 8,
  dequeued: 9,
  inflightSaved: 10,
  inflightRemoved: 11,
  inboundQos2Added: 12,
  inboundQos2Removed: 13
} as const

const HAS_EXPIRY = 4
const HAS_ORIGIN = 8
const HAS_PROPERTIES = 16
const HAS_USER_PAIRS = 32
const RETAIN = 64
const RELEASED = 128

/** Where decoded records go: the store's picture of what it holds (lib/store/image.ts). */
export interface RecordSink {
  messageBody (message: Message): void
  /** A message referred to by id; undefined when its body was lost to damage. */
  messageById (id: number): Message | undefined
  retainedSet (message: Message): void
  retainedRemoved (topic: string): void
  sessionSaved (record: SessionRecord): void
  sessionRemoved (clientId: string): void
  subscriptionSaved (clientId: string, subscription: StoredSubscription): void
  subscriptionRemoved (clientId: string, filter: string): void
  queued (clientId: string, entry: QueuedEntry): void
  dequeued (clientId: string, messageId: number): void
  inflightSaved (clientId: string, entry: InflightEntry): void
  inflightRemoved (clientId: string, packetId: number): void
  inboundQos2Added (clientId: string, packetId: number): void
  inboundQos2Removed (clientId: string, packetId: number): void
}

const ORIGIN_KINDS: readonly OriginKind[] = ['client', 'will', 'local', 'bridge', 'cluster']

// Buffers do not survive JSON as themselves: correlation data goes as base64.
function propertiesToJson (properties: PublishProperties): string {
  const { correlationData, ...rest } = properties
  return JSON.stringify(correlationData === undefined ? rest : { ...rest, correlationData: correlationData.toString('base64') })
}

function propertiesFromJson (text: string): PublishProperties {
  const parsed = JSON.parse(text) as PublishProperties & { correlationData?: string }
  const { correlationData, ...rest } = parsed
  return correlationData === undefined ? rest : { ...rest, correlationData: Buffer.from(correlationData, 'base64') }
}

export function encodeMessage (w: FrameWriter, message: Message): void {
  w.begin(RECORD.message)
  writeMessageFields(w, message)
  w.end()
}

function writeMessageFields (w: FrameWriter, message: Message): void {
  const { expiresAt, origin, properties, userPropertyPairs } = message
  w.f64(message.id)
  w.u8(message.qos | (message.retain ? RETAIN : 0) | (expiresAt !== undefined ? HAS_EXPIRY : 0) |
    (origin !== undefined ? HAS_ORIGIN : 0) | (properties !== undefined ? HAS_PROPERTIES : 0) |
    (userPropertyPairs !== undefined ? HAS_USER_PAIRS : 0))
  w.str(message.topic)
  w.bytesField(message.payload)
  if (expiresAt !== undefined) w.f64(expiresAt)
  if (origin !== undefined) {
    w.u8(ORIGIN_KINDS.indexOf(origin.kind))
    w.str(origin.clientId)
  }
  if (properties !== undefined) w.str(propertiesToJson(properties))
  if (userPropertyPairs !== undefined) w.str(JSON.stringify(userPropertyPairs))
}

/** Origins come back as one object per (kind, client id), as a live broker shares them. */
function readMessageFields (r: FieldReader, origins: Map<string, Origin>): Message {
  const id = r.f64()
  const flags = r.u8()
  const message: Message = { id, topic: r.str(), payload: r.bytesField(), qos: (flags & 3) as QoS, retain: (flags & RETAIN) !== 0 }
  if ((flags & HAS_EXPIRY) !== 0) message.expiresAt = r.f64()
  if ((flags & HAS_ORIGIN) !== 0) {
    const kind = ORIGIN_KINDS[r.u8()] ?? 'client'
    const clientId = r.str()
    const key = `${kind} ${clientId}`
    let origin = origins.get(key)
    if (origin === undefined) origins.set(key, origin = Object.freeze({ kind, clientId }))
    message.origin = origin
  }
  if ((flags & HAS_PROPERTIES) !== 0) message.properties = propertiesFromJson(r.str())
  if ((flags & HAS_USER_PAIRS) !== 0) message.userPropertyPairs = JSON.parse(r.str()) as Array<[string, string]>
  return message
}

export function encodeRetainedSet (w: FrameWriter, messageId: number): void {
  w.begin(RECORD.retainedSet)
  w.f64(messageId)
  w.end()
}

export function encodeKeyed (w: FrameWriter, type: number, key: string): void {
  w.begin(type)
  w.str(key)
  w.end()
}

export function encodeKeyedNumber (w: FrameWriter, type: number, key: string, value: number): void {
  w.begin(type)
  w.str(key)
  w.f64(value)
  w.end()
}

export function encodeKeyedString (w: FrameWriter, type: number, key: string, value: string): void {
  w.begin(type)
  w.str(key)
  w.str(value)
  w.end()
}

interface WillJson { message: string, client: StoredWill['client'], delaySec: number, publishAtMs?: number }
interface SessionJson { expiryIntervalSec: number, offlineSinceMs: number, expiresAtMs?: number, client?: SessionRecord['client'], will?: WillJson }

export function encodeSessionSaved (w: FrameWriter, record: SessionRecord): void {
  const will = record.will
  const json: SessionJson = { expiryIntervalSec: record.expiryIntervalSec, offlineSinceMs: record.offlineSinceMs, expiresAtMs: record.expiresAtMs, client: record.client }
  if (will !== undefined) json.will = { message: '', client: will.client, delaySec: will.delaySec, publishAtMs: will.publishAtMs }
  w.begin(RECORD.sessionSaved)
  w.str(record.clientId)
  w.str(JSON.stringify(json))
  // A will has no id until it is published: its body travels inside the session record.
  if (will !== undefined) writeMessageFields(w, will.message)
  w.end()
}

export function encodeSubscriptionSaved (w: FrameWriter, clientId: string, subscription: StoredSubscription): void {
  w.begin(RECORD.subscriptionSaved)
  w.str(clientId)
  // The broker passes its own subscription object, which knows its subscriber: only the stored fields go.
  const { filter, qos, options } = subscription
  w.str(JSON.stringify(options === undefined ? { filter, qos } : { filter, qos, options }))
  w.end()
}

/** Queued and inflight entries: the message by id, the delivery's own fields. */
export function encodeEntry (w: FrameWriter, type: number, clientId: string, entry: QueuedEntry, packetId: number, released: boolean): void {
  w.begin(type)
  w.str(clientId)
  w.f64(entry.message.id)
  w.u8(entry.qos | (entry.retain ? RETAIN : 0) | (released ? RELEASED : 0))
  w.u16(packetId)
  const ids = entry.subscriptionIds
  if (ids === undefined) {
    w.u16(0)
  } else {
    w.u16(ids.length)
    for (let i = 0; i < ids.length; i++) w.u32(ids[i] as number)
  }
  w.end()
}

/** Applies one record body to `sink`. Throws on a body that does not parse (damage the checksum missed). */
export function decodeRecord (r: FieldReader, sink: RecordSink, origins: Map<string, Origin>): void {
  const type = r.u8()
  switch (type) {
    case RECORD.message: sink.messageBody(readMessageFields(r, origins)); return
    case RECORD.retainedSet: {
      const message = sink.messageById(r.f64())
      if (message !== undefined) sink.retainedSet(message)
      return
    }
    case RECORD.retainedRemoved: sink.retainedRemoved(r.str()); return
    case RECORD.sessionSaved: {
      const clientId = r.str()
      const json = JSON.parse(r.str()) as SessionJson
      const will: StoredWill | undefined = json.will === undefined
        ? undefined
        : { message: readMessageFields(r, origins), client: json.will.client, delaySec: json.will.delaySec, publishAtMs: json.will.publishAtMs }
      sink.sessionSaved({ clientId, expiryIntervalSec: json.expiryIntervalSec, offlineSinceMs: json.offlineSinceMs, expiresAtMs: json.expiresAtMs, client: json.client, will })
      return
    }
    case RECORD.sessionRemoved: sink.sessionRemoved(r.str()); return
    case RECORD.subscriptionSaved: sink.subscriptionSaved(r.str(), JSON.parse(r.str()) as StoredSubscription); return
    case RECORD.subscriptionRemoved: sink.subscriptionRemoved(r.str(), r.str()); return
    case RECORD.queued:
    case RECORD.inflightSaved: {
      const clientId = r.str()
      const message = sink.messageById(r.f64())
      const flags = r.u8()
      const packetId = r.u16()
      const count = r.u16()
      let subscriptionIds: number[] | undefined
      if (count > 0) {
        subscriptionIds = []
        for (let i = 0; i < count; i++) subscriptionIds.push(r.u32())
      }
      if (message === undefined) return
      const qos = (flags & 3) as QoS
      const retain = (flags & RETAIN) !== 0
      if (type === RECORD.queued) sink.queued(clientId, { message, qos, retain, subscriptionIds })
      else sink.inflightSaved(clientId, { message, qos, retain, subscriptionIds, packetId, released: (flags & RELEASED) !== 0 })
      return
    }
    case RECORD.dequeued: sink.dequeued(r.str(), r.f64()); return
    case RECORD.inflightRemoved: sink.inflightRemoved(r.str(), r.f64()); return
    case RECORD.inboundQos2Added: sink.inboundQos2Added(r.str(), r.f64()); return
    case RECORD.inboundQos2Removed: sink.inboundQos2Removed(r.str(), r.f64()); return
    default: throw new RangeError(`unknown record type ${type}`)
  }
}
