// Turns a Node-RED msg into an MQTT message for `roost out`: topic, QoS and retain from the node
// or from msg, payload encoding as core `mqtt out` does it, MQTT 5 properties from msg.
import { type PublishProperties, type QoS, topicNameProblem } from '../../lib'
import type { NodeMessage } from './red'
import type { TransportMessage } from './transport'

/** The part of a `roost out` node's config that shapes a message. */
export interface OutboundSettings {
  topic: string
  /** '' takes msg.qos. */
  qos: '' | QoS
  /** '' takes msg.retain. */
  retain: '' | boolean
}

/** Why a msg cannot be published: each is a locale key below `roost-out.errors.`. */
export const OUTBOUND_ERROR_KEYS = ['no-topic', 'topic-wildcard', 'invalid-topic', 'invalid-qos', 'payload-too-large', 'invalid-properties'] as const
export type OutboundErrorKey = typeof OUTBOUND_ERROR_KEYS[number]

export class OutboundError extends Error {
  constructor (readonly key: OutboundErrorKey, readonly details: Record<string, unknown> = {}) {
    super(key)
    this.name = 'OutboundError'
  }
}

export function parseQos (value: unknown): QoS | undefined {
  const qos = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return qos === 0 || qos === 1 || qos === 2 ? qos : undefined
}

export function encodePayload (payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) return payload
  if (payload === undefined || payload === null) return Buffer.alloc(0)
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8')
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  if (typeof payload === 'object') return Buffer.from(JSON.stringify(payload), 'utf8')
  return Buffer.from(String(payload), 'utf8')
}

export function toTransportMessage (msg: NodeMessage, settings: OutboundSettings, sizeLimit: number): TransportMessage {
  const topic = settings.topic !== '' ? settings.topic : msg.topic
  if (typeof topic !== 'string' || topic === '') throw new OutboundError('no-topic')
  // [MQTT-3.3.2-2] a topic name in PUBLISH must not contain wildcards
  if (topic.includes('+') || topic.includes('#')) throw new OutboundError('topic-wildcard', { topic })
  const problem = topicNameProblem(topic)
  if (problem !== undefined) throw new OutboundError('invalid-topic', { topic, problem })

  let qos: QoS = 0
  if (settings.qos !== '') qos = settings.qos
  else if (msg.qos !== undefined && msg.qos !== null && msg.qos !== '') {
    const parsed = parseQos(msg.qos)
    if (parsed === undefined) throw new OutboundError('invalid-qos', { qos: String(msg.qos) })
    qos = parsed
  }
  const retain = settings.retain !== '' ? settings.retain : (msg.retain === true || msg.retain === 'true')

  const payload = encodePayload(msg.payload)
  if (payload.length > sizeLimit) throw new OutboundError('payload-too-large', { size: payload.length, limit: sizeLimit })

  const message: TransportMessage = { topic, payload, qos, retain }
  const properties = propertiesFrom(msg)
  if (properties !== undefined) message.properties = properties
  return message
}

function propertiesFrom (msg: NodeMessage): PublishProperties | undefined {
  const properties: PublishProperties = {}
  let any = false
  if (typeof msg.contentType === 'string' && msg.contentType !== '') { properties.contentType = msg.contentType; any = true }
  if (typeof msg.responseTopic === 'string' && msg.responseTopic !== '') {
    const problem = topicNameProblem(msg.responseTopic)
    // [MQTT-3.3.2-14] the Response Topic is a topic name: no wildcards
    if (problem !== undefined) throw new OutboundError('invalid-properties', { property: 'responseTopic', problem })
    properties.responseTopic = msg.responseTopic; any = true
  }
  if (msg.correlationData !== undefined && msg.correlationData !== null) {
    properties.correlationData = Buffer.isBuffer(msg.correlationData) ? msg.correlationData : Buffer.from(String(msg.correlationData), 'utf8')
    any = true
  }
  if (msg.messageExpiryInterval !== undefined && msg.messageExpiryInterval !== null) {
    const seconds = Number(msg.messageExpiryInterval)
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0xffffffff) throw new OutboundError('invalid-properties', { property: 'messageExpiryInterval', problem: String(msg.messageExpiryInterval) })
    properties.messageExpiryInterval = seconds; any = true
  }
  if (msg.userProperties !== undefined && msg.userProperties !== null) {
    if (typeof msg.userProperties !== 'object' || Array.isArray(msg.userProperties)) throw new OutboundError('invalid-properties', { property: 'userProperties', problem: 'not an object' })
    const user: Record<string, string | string[]> = {}
    for (const [key, value] of Object.entries(msg.userProperties as Record<string, unknown>)) {
      user[key] = Array.isArray(value) ? value.map(String) : String(value)
    }
    properties.userProperties = user; any = true
  }
  return any ? properties : undefined
}
