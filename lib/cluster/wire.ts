// A message as it travels between nodes: the MQTT payload as the NATS payload, on the topic's
// subject, with headers only when there is something to say beyond QoS 0, not retained. NATS
// subscribers that are not Roost (nats-server's MQTT listener, plain NATS clients) read the payload
// as it is. What crosses today: topic, payload, QoS, retain flag; MQTT 5 properties do not yet.
import type { Msg, MsgHdrs } from '@nats-io/transport-node'
import { topicNameProblem } from '../topics/validate'
import type { Message, Origin, QoS } from '../types'
import { subjectToTopic } from './subjects'

/** The QoS the publisher used, when above 0 (Roost's own header). */
export const QOS_HEADER = 'Roost-Qos'
/** Present (value 1) when the publisher set the retain flag (Roost's own header). */
export const RETAIN_HEADER = 'Roost-Retain'
/** nats-server's MQTT listener marks what its clients publish with their QoS (server/mqtt.go, mqttNatsHeader). */
export const NATS_MQTT_HEADER = 'Nmqtt-Pub'

/** Headers for a message going out; undefined for the common QoS 0, not retained one. `headers` is nats.js's. */
export function outgoingHeaders (message: Message, headers: () => MsgHdrs): MsgHdrs | undefined {
  if (message.qos === 0 && !message.retain) return undefined
  const h = headers()
  if (message.qos !== 0) h.set(QOS_HEADER, String(message.qos))
  if (message.retain) h.set(RETAIN_HEADER, '1')
  return h
}

/**
 * The message a NATS message brings; a string saying why not when its subject is no MQTT topic
 * name (a plain NATS client may publish on 'a.#').
 */
export function incomingMessage (msg: Msg, origin: Origin, maxTopicLevels: number): Message | string {
  const topic = subjectToTopic(msg.subject)
  const problem = topicNameProblem(topic, maxTopicLevels)
  if (problem !== undefined) return `subject '${msg.subject}' is no MQTT topic name: ${problem}`
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
  return { id: 0, topic, payload, qos, retain, origin }
}

function qosOf (value: string): QoS {
  return value === '1' ? 1 : value === '2' ? 2 : 0
}
