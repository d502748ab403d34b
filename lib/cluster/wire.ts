// A message as it travels between nodes: the MQTT payload as the NATS payload, on the topic's
// subject, with headers only when there is something to say beyond QoS 0, not retained, no MQTT 5
// properties. NATS subscribers that are not Roost (nats-server's MQTT listener, plain NATS clients)
// read the payload as it is.
//
// Headers (Roost's own names): QoS, retain flag, the publisher's client id on the stream (so No
// Local holds on every node [MQTT-3.8.3-3]), and the MQTT 5 PUBLISH properties that belong to the
// message rather than to one connection (MQTT 5.0, 3.3.2.3): payload format, message expiry,
// content type, response topic, correlation data, user properties in their order [MQTT-3.3.2-17].
// Topic alias and subscription identifiers are per connection and never cross.
import type { MsgHdrs } from '@nats-io/transport-node'
import { MAX_USER_PROPERTIES_PER_PACKET } from '../codec/properties'
import { topicNameProblem } from '../topics/validate'
import type { Message, Origin, PublishProperties, QoS } from '../types'
import { subjectToTopic } from './subjects'

/** The QoS the publisher used, when above 0 (Roost's own header). */
export const QOS_HEADER = 'Roost-Qos'
/** Present (value 1) when the publisher set the retain flag (Roost's own header). */
export const RETAIN_HEADER = 'Roost-Retain'
/** nats-server's MQTT listener marks what its clients publish with their QoS (server/mqtt.go, mqttNatsHeader). */
export const NATS_MQTT_HEADER = 'Nmqtt-Pub'
/** The publisher's client id (messages on the stream). */
export const ORIGIN_HEADER = 'Roost-Origin'
/** MQTT 5 Payload Format Indicator 1 (UTF-8). */
export const PAYLOAD_FORMAT_HEADER = 'Roost-Payload-Format'
/** MQTT 5 Message Expiry Interval: seconds left when the message left its node. */
export const EXPIRY_HEADER = 'Roost-Expiry'
export const CONTENT_TYPE_HEADER = 'Roost-Content-Type'
export const RESPONSE_TOPIC_HEADER = 'Roost-Response-Topic'
/** MQTT 5 Correlation Data, base64. */
export const CORRELATION_HEADER = 'Roost-Correlation'
/**
 * The id of the node that delivered the message to its own subscribers already: set on what a node
 * kept while NATS was away and sends to the stream once it is back (backlog.ts), so its own
 * consumers pass it over while every other node delivers it.
 */
export const DELIVERED_HEADER = 'Roost-Delivered-On'
/** MQTT 5 user properties as a JSON array of [name, value] pairs: names may hold what a header name cannot. */
export const USER_PROPERTIES_HEADER = 'Roost-User-Properties'

/**
 * Headers for a message going out; undefined for the common QoS 0, not retained one without
 * properties. `headers` is nats.js's; `withOrigin` adds the publisher's client id.
 */
export function outgoingHeaders (message: Message, headers: () => MsgHdrs, withOrigin = false): MsgHdrs | undefined {
  const properties = message.properties
  if (message.qos === 0 && !message.retain && properties === undefined && message.userPropertyPairs === undefined && !withOrigin) return undefined
  const h = headers()
  if (message.qos !== 0) h.set(QOS_HEADER, String(message.qos))
  if (message.retain) h.set(RETAIN_HEADER, '1')
  if (withOrigin && message.origin !== undefined) h.set(ORIGIN_HEADER, message.origin.clientId)
  if (properties !== undefined) setProperties(h, message, properties)
  const pairs = message.userPropertyPairs ?? pairsOf(properties?.userProperties)
  if (pairs !== undefined && pairs.length > 0) h.set(USER_PROPERTIES_HEADER, JSON.stringify(pairs))
  return h
}

function setProperties (h: MsgHdrs, message: Message, properties: PublishProperties): void {
  if (properties.payloadFormatIndicator === true) h.set(PAYLOAD_FORMAT_HEADER, '1')
  if (message.expiresAt !== undefined) {
    // [MQTT-3.3.2-6] what is forwarded carries the time left, not the interval first given
    h.set(EXPIRY_HEADER, String(Math.max(1, Math.ceil((message.expiresAt - Date.now()) / 1000))))
  } else if (properties.messageExpiryInterval !== undefined) {
    h.set(EXPIRY_HEADER, String(properties.messageExpiryInterval))
  }
  if (properties.contentType !== undefined) h.set(CONTENT_TYPE_HEADER, properties.contentType)
  if (properties.responseTopic !== undefined) h.set(RESPONSE_TOPIC_HEADER, properties.responseTopic)
  if (properties.correlationData !== undefined) h.set(CORRELATION_HEADER, Buffer.from(properties.correlationData).toString('base64'))
}

/** User properties as pairs, for messages that came without their received order (the in-process API). */
function pairsOf (record: Record<string, string | string[]> | undefined): Array<[string, string]> | undefined {
  if (record === undefined) return undefined
  const pairs: Array<[string, string]> = []
  for (const [name, value] of Object.entries(record)) {
    if (Array.isArray(value)) for (const one of value) pairs.push([name, one])
    else pairs.push([name, value])
  }
  return pairs
}

/**
 * The message a NATS message brings; a string saying why not when its subject is no MQTT topic
 * name (a plain NATS client may publish on 'a.#'). `subject` is the message's subject without the
 * stream's prefix; `storedForMs` the time the message waited in the stream, off its expiry.
 */
/** What incomingMessage reads of a NATS message, plain or from the stream. */
export interface NatsMessage {
  readonly subject: string
  readonly data: Uint8Array
  readonly headers?: MsgHdrs | undefined
}

export function incomingMessage (msg: NatsMessage, origin: Origin, maxTopicLevels: number, subject = msg.subject, storedForMs = 0): Message | string {
  const topic = subjectToTopic(subject)
  const problem = topicNameProblem(topic, maxTopicLevels)
  if (problem !== undefined) return `subject '${subject}' is no MQTT topic name: ${problem}`
  let qos: QoS = 0
  let retain = false
  const h = msg.headers
  if (h !== undefined) {
    qos = qosOf(h.get(QOS_HEADER) || h.get(NATS_MQTT_HEADER))
    retain = h.get(RETAIN_HEADER) === '1'
  }
  const data = msg.data
  // A QoS 0 message is sent on at once: a view of the read buffer will do. One that may wait in a
  // queue gets its own copy, so it does not hold the whole read buffer alive.
  const payload = qos === 0 ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data)
  const message: Message = { id: 0, topic, payload, qos, retain, origin }
  if (h !== undefined) readProperties(h, message, storedForMs)
  return message
}

/** The MQTT 5 properties the headers carry, onto `message`; an expired message gets expiresAt in the past. */
function readProperties (h: MsgHdrs, message: Message, storedForMs: number): void {
  let properties: PublishProperties | undefined
  if (h.get(PAYLOAD_FORMAT_HEADER) === '1') (properties ??= {}).payloadFormatIndicator = true
  const expiry = h.get(EXPIRY_HEADER)
  if (expiry !== '') {
    // [MQTT-3.3.2-6] the interval passed on is what is left after the time spent in the stream
    const leftMs = Number(expiry) * 1000 - storedForMs
    ;(properties ??= {}).messageExpiryInterval = Math.max(0, Math.ceil(leftMs / 1000))
    message.expiresAt = Date.now() + leftMs
  }
  const contentType = h.get(CONTENT_TYPE_HEADER)
  if (contentType !== '') (properties ??= {}).contentType = contentType
  const responseTopic = h.get(RESPONSE_TOPIC_HEADER)
  if (responseTopic !== '') (properties ??= {}).responseTopic = responseTopic
  const correlation = h.get(CORRELATION_HEADER)
  if (correlation !== '') (properties ??= {}).correlationData = Buffer.from(correlation, 'base64')
  const users = h.get(USER_PROPERTIES_HEADER)
  if (users !== '') {
    const pairs = userPairs(users)
    if (pairs !== undefined) {
      message.userPropertyPairs = pairs
      const record: Record<string, string | string[]> = {}
      for (const [name, value] of pairs) {
        const previous = record[name]
        record[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]
      }
      ;(properties ??= {}).userProperties = record
    }
  }
  if (properties !== undefined) message.properties = properties
}

/** The pairs of the user properties header; undefined when it is not the JSON a node writes. */
function userPairs (text: string): Array<[string, string]> | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    if (!Array.isArray(parsed) || parsed.length > MAX_USER_PROPERTIES_PER_PACKET) return undefined
    for (const pair of parsed) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return undefined
    }
    return parsed as Array<[string, string]>
  } catch {
    return undefined
  }
}

function qosOf (value: string): QoS {
  return value === '1' ? 1 : value === '2' ? 2 : 0
}
