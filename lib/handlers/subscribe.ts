// SUBSCRIBE (MQTT 3.1.1, 3.8): validate and authorize each filter, record the grants, answer
// SUBACK, then send the retained messages the new subscriptions match [MQTT-3.3.1-6].
import type mqttPacket from 'mqtt-packet'
import type { Connection } from '../connection/connection'
import { ProtocolError, ReasonCode } from '../errors'
import { sendRetained } from '../retained/deliver'
import type { Session } from '../session/session'
import { addSubscription } from '../session/subscriptions'
import { parseSharedFilter } from '../topics/shared'
import { topicFilterProblem } from '../topics/validate'
import type { QoS } from '../types'

/** SUBACK return code for a refused subscription [MQTT-3.9.3-2]. */
const SUBACK_FAILURE = 0x80

export function handleSubscribe (conn: Connection, packet: mqttPacket.ISubscribePacket): void {
  const { ctx } = conn
  // [MQTT-3.8.3-3] a SUBSCRIBE carries at least one filter; mqtt-packet lets an empty one through
  if (packet.subscriptions.length === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'SUBSCRIBE with no topic filter')
  const session = conn.session as Session
  const granted: number[] = []
  const accepted: Array<{ filter: string, qos: QoS }> = []
  for (const { topic: filter, qos: requested } of packet.subscriptions) {
    const qos = grant(conn, filter, requested)
    granted.push(qos)
    if (qos === SUBACK_FAILURE) continue
    addSubscription(ctx.router, session, filter, qos as QoS)
    accepted.push({ filter, qos: qos as QoS })
    ctx.logger.debug(`${conn.clientId} ${qos} ${filter}`)
  }
  // [MQTT-3.8.4-1] SUBACK with the same packet id; [MQTT-3.8.4-5] one code per filter, in order
  conn.sendPacket({ cmd: 'suback', messageId: packet.messageId, granted })
  ctx.events.emit('subscribe', {
    clientId: conn.clientId,
    subscriptions: packet.subscriptions.map((s, i) => ({ filter: s.topic, qos: granted[i] as QoS | 0x80 }))
  })
  for (const { filter, qos } of accepted) {
    // Shared subscriptions get no retained messages on subscribe (MQTT 5.0, 4.8.2).
    if (parseSharedFilter(filter) === undefined) sendRetained(ctx.retained, session, filter, qos)
  }
}

/** The QoS granted for one filter, or 0x80. */
function grant (conn: Connection, filter: string, requested: number): number {
  const { ctx } = conn
  const shared = parseSharedFilter(filter)
  if (typeof shared === 'string') {
    ctx.logger.notice(`Client ${conn.clientId} subscription '${filter}' refused: ${shared}.`)
    return SUBACK_FAILURE
  }
  const problem = topicFilterProblem(shared === undefined ? filter : shared.filter, ctx.options.maxTopicLevels)
  if (problem !== undefined) {
    // MQTT 3.1.1 allows refusing one filter with 0x80 rather than closing [MQTT-3.8.4-?, 3.9.3]
    ctx.logger.notice(`Client ${conn.clientId} subscription '${filter}' refused: filter ${problem}.`)
    return SUBACK_FAILURE
  }
  const authorize = ctx.auth.authorizeSubscribe
  if (authorize === undefined) return requested
  const allowed = authorize(conn.info, filter, requested as QoS)
  if (allowed === false) {
    ctx.logger.notice(`Denied SUBSCRIBE from ${conn.clientId} to '${filter}'.`)
    return SUBACK_FAILURE
  }
  // [MQTT-3.9.3-?] the server may grant a lower QoS than requested, never a higher one
  return Math.min(allowed, requested)
}
