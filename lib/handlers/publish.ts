// PUBLISH from a client (MQTT 3.1.1, 3.3 and 4.3; MQTT 5.0, 3.3 and 4.3): resolve a topic
// alias, validate, pass the admission step every message passes (routing/admit.ts), route,
// acknowledge. QoS 2 follows the spec's Method B: the message is delivered on receipt and its
// packet id kept until PUBREL, so a re-sent PUBLISH with that id is acknowledged but not
// delivered again [MQTT-4.3.3-2].
import type { Connection } from '../connection/connection'
import { encodeAck, PUBACK, PUBREC } from '../codec/acks'
import type { DecodedPublish } from '../codec/publish-codec'
import { ProtocolError, ReasonCode } from '../errors'
import { admit, type Refusal, refusalLine } from '../routing/admit'
import type { Session } from '../session/session'
import { mountTopic } from '../topics/mount-point'
import { topicNameProblem } from '../topics/validate'
import type { Message } from '../types'

export function handlePublish (conn: Connection, publish: DecodedPublish): void {
  const { ctx } = conn
  const { payload, qos, messageId } = publish
  const session = conn.session as Session
  const stats = ctx.stats
  stats.publishReceived++
  stats.publishBytesReceived += payload.length

  // [MQTT-3.3.4-6] a PUBLISH from a client must not carry a Subscription Identifier
  if (publish.v5?.subscriptionIdentifiers !== undefined) {
    throw new ProtocolError(ReasonCode.ProtocolError, 'PUBLISH from a client carries a subscription identifier')
  }
  const topic = publish.v5 === undefined ? publish.topic : resolveTopicAlias(conn, publish)
  // [MQTT-3.3.2-2] no wildcards in a topic name; [MQTT-4.7.3-1] not empty
  const problem = topicNameProblem(topic)
  if (problem !== undefined) throw new ProtocolError(ReasonCode.TopicNameInvalid, `PUBLISH topic ${problem}`)

  if (qos === 2 && session.hasInboundQos2(messageId)) {
    conn.acknowledge(encodeAck(PUBREC, messageId))
    return
  }
  // [MQTT-3.3.4-9] no more unacknowledged QoS 2 messages than our Receive Maximum
  const receiveMaximum = ctx.options.maxInflightMessages
  if (qos === 2 && conn.protocolVersion === 5 && receiveMaximum > 0 && session.inboundQos2Count >= receiveMaximum) {
    throw new ProtocolError(ReasonCode.ReceiveMaximumExceeded, `more than ${receiveMaximum} QoS 2 messages unacknowledged`)
  }

  // mount_point: the topic, checked as the client sent it, goes under its listener's prefix
  const message: Message = { id: 0, topic: mountTopic(conn.mountPoint, topic), payload, qos, retain: publish.retain, origin: conn.origin }
  const v5 = publish.v5
  if (v5 !== undefined) {
    if (v5.properties !== undefined) message.properties = v5.properties
    if (v5.userPropertyPairs !== undefined) message.userPropertyPairs = v5.userPropertyPairs
  }
  let reasonCode: number
  let stored: Promise<void> | undefined
  const refused = admit(ctx, message, conn.info)
  if (refused === undefined) {
    // In a cluster a QoS 1/2 message is acknowledged once the stream holds it (acknowledged = stored).
    stored = ctx.dispatchMessage(message)
    // Success, whether or not anybody was subscribed: 0x10 No Matching Subscribers is optional
    // (MQTT 5.0, 3.4.2.1) and some client libraries report any code but 0x00 as a failure.
    reasonCode = 0
  } else {
    reasonCode = dropRefused(conn, publish, topic, refused)
  }
  // A refused message is still acknowledged: MQTT 3.1.1 has no way to say no, and a client
  // that is not told would re-send forever. MQTT 5 clients get the reason code.
  if (conn.protocolVersion !== 5) reasonCode = 0
  if (qos === 1) {
    const ack = encodeAck(PUBACK, messageId, reasonCode)
    if (stored === undefined) conn.acknowledge(ack)
    else conn.acknowledgeAfter(stored, ack)
  } else if (qos === 2) {
    // Kept at once: a PUBLISH re-sent while the stream is still storing the first is not stored twice.
    if (reasonCode < 0x80) session.addInboundQos2(messageId)
    const ack = encodeAck(PUBREC, messageId, reasonCode)
    if (stored === undefined) conn.acknowledge(ack)
    else conn.acknowledgeAfter(stored, ack)
  } else if (reasonCode === ReasonCode.PayloadFormatInvalid) {
    // QoS 0 has no acknowledgement to carry 0x99: the connection ends with it (MQTT 5.0, 3.3.2.3.2).
    throw new ProtocolError(ReasonCode.PayloadFormatInvalid, 'payload is not the UTF-8 its format indicator says')
  }
}

/** MQTT 5 Topic Alias (3.3.2.3.4): set or use an alias of this connection. */
function resolveTopicAlias (conn: Connection, publish: DecodedPublish): string {
  const alias = publish.v5?.topicAlias
  if (alias === undefined) return publish.topic
  const max = conn.ctx.options.maxTopicAlias
  // [MQTT-3.3.2-8] alias 0 or over the maximum we announced: DISCONNECT 0x94
  if (alias === 0 || alias > max) throw new ProtocolError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} outside 1..${max}`)
  const aliases = (conn.v5 as NonNullable<Connection['v5']>).inboundAliases
  if (publish.topic === '') {
    const topic = aliases.get(alias)
    // An alias never set on this connection is a Protocol Error (3.3.2.3.4).
    if (topic === undefined) throw new ProtocolError(ReasonCode.ProtocolError, `topic alias ${alias} was never set`)
    return topic
  }
  aliases.set(alias, publish.topic)
  return publish.topic
}

/**
 * A PUBLISH the admission step refused: ends the connection where the protocol says so, else logs
 * the drop and returns the reason code for the acknowledgement.
 */
function dropRefused (conn: Connection, publish: DecodedPublish, topic: string, refused: Refusal): number {
  const { ctx } = conn
  const { options } = ctx
  const id = conn.clientId
  switch (refused.rule) {
    case 'maxQos':
      // [MQTT-3.2.2-11] MQTT 5 says 0x9B; MQTT 3.1.1 can only close
      throw new ProtocolError(ReasonCode.QoSNotSupported, `PUBLISH at QoS ${publish.qos} over max_qos ${options.maxQos}`)
    case 'retain':
      // MQTT 5 clients were told Retain Available 0 in CONNACK: a retained PUBLISH ends the connection.
      if (conn.protocolVersion === 5) throw new ProtocolError(ReasonCode.RetainNotSupported, 'retained PUBLISH while retain is not available')
      ctx.logger.notice(refusalLine(`retained PUBLISH from ${id}`, topic, refused))
      break
    case 'size':
      ctx.logger.notice(`Dropped too large PUBLISH from ${id} (d${publish.dup ? 1 : 0}, q${publish.qos}, r${publish.retain ? 1 : 0}, m${publish.messageId}, '${topic}', ... (${publish.payload.length} bytes)): ${refused.reason}.`)
      break
    case 'levels':
      // MQTT 5 refuses a QoS 1/2 message in its PUBACK/PUBREC (0x90); otherwise no acknowledgement
      // can say no, and acknowledging a dropped message would tell the publisher it arrived: the
      // connection ends instead, as Mosquitto ends it.
      if (publish.qos === 0 || conn.protocolVersion !== 5) {
        throw new ProtocolError(ReasonCode.TopicNameInvalid, `PUBLISH topic '${topic.slice(0, 64)}...' has more than ${options.maxTopicLevels} levels`)
      }
      ctx.logger.notice(`Dropped PUBLISH from ${id} on '${topic.slice(0, 64)}...': ${refused.reason}.`)
      break
    default:
      ctx.logger.notice(refusalLine(`PUBLISH from ${id}`, topic, refused))
  }
  ctx.stats.publishDropped++
  return refused.reasonCode
}
