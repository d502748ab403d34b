// PUBLISH from a client (MQTT 3.1.1, 3.3; 4.3): validate, authorize, route, acknowledge.
// QoS 2 follows the spec's Method B: the message is delivered on receipt and its packet id kept
// until PUBREL, so a re-sent PUBLISH with that id is acknowledged but not delivered again
// [MQTT-4.3.3-2].
import { askAuthorizer } from '../auth/auth'
import type { Connection } from '../connection/connection'
import { encodeAck, PUBACK, PUBREC } from '../connection/acks'
import type { DecodedPublish } from '../connection/publish-codec'
import { ProtocolError, ReasonCode } from '../errors'
import type { Session } from '../session/session'
import { countLevels, topicNameProblem } from '../topics/validate'
import type { Message, PublishProperties } from '../types'

export function handlePublish (conn: Connection, publish: DecodedPublish, properties?: PublishProperties): void {
  const { ctx } = conn
  const { topic, payload, qos, messageId } = publish
  const session = conn.session as Session
  const stats = ctx.stats
  stats.publishReceived++
  stats.publishBytesReceived += payload.length

  // [MQTT-3.3.2-2] no wildcards in a topic name; [MQTT-4.7.3-1] not empty
  const problem = topicNameProblem(topic)
  if (problem !== undefined) throw new ProtocolError(ReasonCode.TopicNameInvalid, `PUBLISH topic ${problem}`)

  if (qos === 2 && session.inboundQos2.has(messageId)) {
    conn.write(encodeAck(PUBREC, messageId))
    return
  }

  const refusal = refusalOf(conn, topic, payload.length, publish)
  if (refusal === undefined) {
    const message: Message = { topic, payload, qos, retain: publish.retain, origin: conn.clientId }
    if (properties !== undefined) message.properties = properties
    ctx.dispatchMessage(message)
  } else {
    stats.publishDropped++
  }
  // A refused message is still acknowledged: MQTT 3.1.1 has no way to say no, and a client
  // that is not told would re-send forever. MQTT 5 clients get the reason code.
  const reasonCode = refusal !== undefined && conn.protocolVersion === 5 ? refusal : 0
  if (qos === 1) {
    conn.write(encodeAck(PUBACK, messageId, reasonCode))
  } else if (qos === 2) {
    if (reasonCode < 0x80) session.inboundQos2.add(messageId)
    conn.write(encodeAck(PUBREC, messageId, reasonCode))
  }
}

/** Why the broker will not route this message, as an MQTT 5 reason code; undefined when it will. */
function refusalOf (conn: Connection, topic: string, payloadBytes: number, publish: DecodedPublish): number | undefined {
  const { ctx } = conn
  const { options } = ctx
  if (options.messageSizeLimit > 0 && payloadBytes > options.messageSizeLimit) {
    ctx.logger.notice(`Dropped too large PUBLISH from ${conn.clientId} (d${publish.dup ? 1 : 0}, q${publish.qos}, r${publish.retain ? 1 : 0}, m${publish.messageId}, '${topic}', ... (${payloadBytes} bytes)): message_size_limit is ${options.messageSizeLimit}.`)
    return ReasonCode.PacketTooLarge
  }
  if (countLevels(topic) > options.maxTopicLevels) {
    ctx.logger.notice(`Dropped PUBLISH from ${conn.clientId} on '${topic.slice(0, 64)}...': more than ${options.maxTopicLevels} topic levels.`)
    return ReasonCode.TopicNameInvalid
  }
  // $SYS is the broker's own tree: read-only to clients.
  if (topic.startsWith('$SYS/') || topic === '$SYS') {
    ctx.logger.notice(`Dropped PUBLISH from ${conn.clientId} to '${topic}': $SYS is read-only.`)
    return ReasonCode.NotAuthorized
  }
  if (publish.retain && !options.retainAvailable) {
    ctx.logger.notice(`Dropped retained PUBLISH from ${conn.clientId} to '${topic}': retain_available is false.`)
    return ReasonCode.RetainNotSupported
  }
  const authorize = ctx.auth.authorizePublish
  if (authorize !== undefined && !askAuthorizer(() => authorize(conn.info, topic, publish.qos, publish.retain), false, (error) => ctx.hookFailed(error, conn.clientId))) {
    ctx.logger.notice(`Denied PUBLISH from ${conn.clientId} to '${topic}'.`)
    return ReasonCode.NotAuthorized
  }
  return undefined
}
