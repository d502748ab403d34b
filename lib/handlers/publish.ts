// PUBLISH from a client (MQTT 3.1.1, 3.3 and 4.3; MQTT 5.0, 3.3 and 4.3): resolve a topic
// alias, validate, authorize, route, acknowledge. QoS 2 follows the spec's Method B: the message
// is delivered on receipt and its packet id kept until PUBREL, so a re-sent PUBLISH with that id
// is acknowledged but not delivered again [MQTT-4.3.3-2].
import { isUtf8 } from 'node:buffer'
import { askAuthorizer } from '../auth/auth'
import type { Connection } from '../connection/connection'
import { encodeAck, PUBACK, PUBREC } from '../connection/acks'
import type { DecodedPublish } from '../connection/publish-codec'
import { ProtocolError, ReasonCode } from '../errors'
import type { Session } from '../session/session'
import { countLevels, isSysTopicClosedTo, topicNameProblem } from '../topics/validate'
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
  // Deeper than max_topic_levels: MQTT 5 refuses a QoS 1/2 message in its PUBACK/PUBREC (0x90);
  // otherwise no acknowledgement can say no, and acknowledging a dropped message would tell the
  // publisher it arrived: the connection ends instead, as Mosquitto ends it.
  const maxLevels = ctx.options.maxTopicLevels
  if (countLevels(topic) > maxLevels && (qos === 0 || conn.protocolVersion !== 5)) {
    throw new ProtocolError(ReasonCode.TopicNameInvalid, `PUBLISH topic '${topic.slice(0, 64)}...' has more than ${maxLevels} levels`)
  }

  // [MQTT-3.2.2-11] a PUBLISH above the Maximum QoS: MQTT 5 says 0x9B; MQTT 3.1.1 can only close
  if (qos > ctx.options.maxQos) throw new ProtocolError(ReasonCode.QoSNotSupported, `PUBLISH at QoS ${qos} over max_qos ${ctx.options.maxQos}`)
  if (qos === 2 && session.hasInboundQos2(messageId)) {
    conn.acknowledge(encodeAck(PUBREC, messageId))
    return
  }
  // [MQTT-3.3.4-9] no more unacknowledged QoS 2 messages than our Receive Maximum
  const receiveMaximum = ctx.options.maxInflightMessages
  if (qos === 2 && conn.protocolVersion === 5 && receiveMaximum > 0 && session.inboundQos2Count >= receiveMaximum) {
    throw new ProtocolError(ReasonCode.ReceiveMaximumExceeded, `more than ${receiveMaximum} QoS 2 messages unacknowledged`)
  }

  let reasonCode = refusalOf(conn, topic, publish)
  if (reasonCode === undefined) {
    const message: Message = { id: 0, topic, payload, qos, retain: publish.retain, origin: conn.clientId }
    const v5 = publish.v5
    if (v5 !== undefined) {
      if (v5.properties !== undefined) message.properties = v5.properties
      if (v5.userPropertyPairs !== undefined) message.userPropertyPairs = v5.userPropertyPairs
    }
    ctx.dispatchMessage(message)
    // Success, whether or not anybody was subscribed: 0x10 No Matching Subscribers is optional
    // (MQTT 5.0, 3.4.2.1) and some client libraries report any code but 0x00 as a failure.
    reasonCode = 0
  } else {
    stats.publishDropped++
  }
  // A refused message is still acknowledged: MQTT 3.1.1 has no way to say no, and a client
  // that is not told would re-send forever. MQTT 5 clients get the reason code.
  if (conn.protocolVersion !== 5) reasonCode = 0
  if (qos === 1) {
    conn.acknowledge(encodeAck(PUBACK, messageId, reasonCode))
  } else if (qos === 2) {
    if (reasonCode < 0x80) session.addInboundQos2(messageId)
    conn.acknowledge(encodeAck(PUBREC, messageId, reasonCode))
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

/** Why the broker will not route this message, as an MQTT 5 reason code; undefined when it will. */
function refusalOf (conn: Connection, topic: string, publish: DecodedPublish): number | undefined {
  const { ctx } = conn
  const { options } = ctx
  const payloadBytes = publish.payload.length
  if (options.messageSizeLimit > 0 && payloadBytes > options.messageSizeLimit) {
    ctx.logger.notice(`Dropped too large PUBLISH from ${conn.clientId} (d${publish.dup ? 1 : 0}, q${publish.qos}, r${publish.retain ? 1 : 0}, m${publish.messageId}, '${topic}', ... (${payloadBytes} bytes)): message_size_limit is ${options.messageSizeLimit}.`)
    return ReasonCode.PacketTooLarge
  }
  if (countLevels(topic) > options.maxTopicLevels) {
    ctx.logger.notice(`Dropped PUBLISH from ${conn.clientId} on '${topic.slice(0, 64)}...': more than ${options.maxTopicLevels} topic levels.`)
    return ReasonCode.TopicNameInvalid
  }
  // $SYS is the broker's own tree: read-only to clients, a bridge's own state notification apart.
  if (isSysTopicClosedTo(topic, conn)) {
    ctx.logger.notice(`Dropped PUBLISH from ${conn.clientId} to '${topic}': $SYS is read-only.`)
    return ReasonCode.NotAuthorized
  }
  if (publish.retain && !options.retainAvailable) {
    // MQTT 5 clients were told Retain Available 0 in CONNACK: a retained PUBLISH ends the connection.
    if (conn.protocolVersion === 5) throw new ProtocolError(ReasonCode.RetainNotSupported, 'retained PUBLISH while retain is not available')
    ctx.logger.notice(`Dropped retained PUBLISH from ${conn.clientId} to '${topic}': retain_available is false.`)
    return ReasonCode.RetainNotSupported
  }
  // [MQTT-3.3.2-?] Payload Format Indicator 1 promises UTF-8 (3.3.2.3.2)
  if (publish.v5?.properties?.payloadFormatIndicator === true && !isUtf8(publish.payload)) {
    ctx.logger.notice(`Dropped PUBLISH from ${conn.clientId} to '${topic}': payload format indicator 1 with a payload that is not UTF-8.`)
    return ReasonCode.PayloadFormatInvalid
  }
  const authorize = ctx.auth.authorizePublish
  if (authorize !== undefined && !askAuthorizer(() => authorize(conn.info, topic, publish.qos, publish.retain), false, (error) => ctx.hookFailed(error, conn.clientId))) {
    ctx.logger.notice(`Denied PUBLISH from ${conn.clientId} to '${topic}'.`)
    return ReasonCode.NotAuthorized
  }
  return undefined
}
