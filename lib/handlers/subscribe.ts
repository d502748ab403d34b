// SUBSCRIBE (MQTT 3.1.1, 3.8; MQTT 5.0, 3.8): validate and authorize each filter, record the
// grants with their MQTT 5 options, answer SUBACK, then send the retained messages the new
// subscriptions match [MQTT-3.3.1-6], as Retain Handling says (MQTT 5.0, 3.8.3.1).
import type mqttPacket from 'mqtt-packet'
import { askAuthorizer } from '../auth/auth'
import type { PropertyValues } from '../codec/properties'
import { encodeSuback } from '../connection/acks'
import type { Connection } from '../connection/connection'
import { ProtocolError, ReasonCode } from '../errors'
import { sendRetained } from '../retained/deliver'
import type { Session } from '../session/session'
import { addSubscription } from '../session/subscriptions'
import { parseSharedFilter, type SharedFilter } from '../topics/shared'
import { topicFilterProblem } from '../topics/validate'
import type { QoS, SubscriptionOptions } from '../types'

/** The largest Subscription Identifier (a Variable Byte Integer, MQTT 5.0, 3.8.2.1.2). */
const MAX_SUBSCRIPTION_ID = 268_435_455

/**
 * Every subscription of a Mosquitto bridge (MQTT 3.1/3.1.1 with try_private), as Mosquitto
 * subscribes it: nothing the bridge published comes back to it, or `topic ... both` would echo
 * each message to the broker it came from; retained flags pass through as published, so the
 * broker on the other side keeps them too.
 */
const BRIDGE_OPTIONS: Readonly<SubscriptionOptions> = Object.freeze({ noLocal: true, retainAsPublished: true, retainHandling: 0 })

export function handleSubscribe (conn: Connection, packet: mqttPacket.ISubscribePacket, properties: PropertyValues): void {
  const { ctx } = conn
  // [MQTT-2.3.1-1] SUBSCRIBE carries a non-zero packet identifier (MQTT 5.0: [MQTT-2.2.1-3])
  if (packet.messageId === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'SUBSCRIBE with packet identifier 0')
  // [MQTT-3.8.3-3] a SUBSCRIBE carries at least one filter; mqtt-packet lets an empty one through
  if (packet.subscriptions.length === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'SUBSCRIBE with no topic filter')
  const session = conn.session as Session
  const v5 = conn.protocolVersion === 5
  const subscriptionId = properties.values.subscriptionIdentifier as number | undefined
  // [MQTT-3.8.2-?] Subscription Identifier 0 is a Protocol Error (3.8.2.1.2)
  if (subscriptionId !== undefined && (subscriptionId === 0 || subscriptionId > MAX_SUBSCRIPTION_ID)) {
    throw new ProtocolError(ReasonCode.ProtocolError, `subscription identifier ${subscriptionId}`)
  }
  const granted: number[] = []
  const retainedToSend: Array<{ filter: string, qos: QoS }> = []
  for (const subscription of packet.subscriptions) {
    const filter = subscription.topic
    const options: SubscriptionOptions | undefined = v5
      ? { noLocal: subscription.nl === true, retainAsPublished: subscription.rap === true, retainHandling: (subscription.rh ?? 0) as 0 | 1 | 2, subscriptionIdentifier: subscriptionId }
      : conn.bridge ? BRIDGE_OPTIONS : undefined
    const shared = parseSharedFilter(filter)
    const code = grant(conn, filter, shared, subscription.qos, options)
    granted.push(code)
    if (code >= 0x80) continue
    const replaced = addSubscription(ctx.router, session, filter, code as QoS, options)
    ctx.logger.debug(`${conn.clientId} ${code} ${filter}`)
    const retainHandling = options?.retainHandling ?? 0
    // Shared subscriptions get no retained messages on subscribe (MQTT 5.0, 4.8.2).
    if (shared === undefined && (retainHandling === 0 || (retainHandling === 1 && !replaced))) {
      retainedToSend.push({ filter, qos: code as QoS })
    }
  }
  // [MQTT-3.8.4-1] SUBACK with the same packet id; [MQTT-3.8.4-5] one code per filter, in order
  conn.acknowledge(encodeSuback(packet.messageId as number, granted, v5))
  if (ctx.events.listenerCount('subscribe') > 0) {
    ctx.events.emit('subscribe', {
      clientId: conn.clientId,
      subscriptions: packet.subscriptions.map((s, i) => ({ filter: s.topic, qos: granted[i] as QoS | 0x80 }))
    })
  }
  for (const { filter, qos } of retainedToSend) sendRetained(ctx.retainedFor(filter), session, filter, qos, ctx.options.upgradeOutgoingQos, subscriptionId)
}

/** The QoS granted for one filter, or a failure code (0x80 for MQTT 3.1.1, the precise one for MQTT 5). */
function grant (conn: Connection, filter: string, shared: SharedFilter | string | undefined, requested: number,
  options: SubscriptionOptions | undefined): number {
  const { ctx } = conn
  const v5 = conn.protocolVersion === 5
  if (typeof shared === 'string') {
    ctx.logger.notice(`Client ${conn.clientId} subscription '${filter}' refused: ${shared}.`)
    return v5 ? ReasonCode.TopicFilterInvalid : ReasonCode.UnspecifiedError
  }
  // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error (a bridge's is implied, not sent)
  if (v5 && shared !== undefined && options?.noLocal === true) {
    throw new ProtocolError(ReasonCode.ProtocolError, `no local on shared subscription '${filter}'`)
  }
  const problem = topicFilterProblem(shared === undefined ? filter : shared.filter, ctx.options.maxTopicLevels)
  if (problem !== undefined) {
    // A filter we cannot accept is refused in SUBACK, the others still granted [MQTT-3.9.3-2].
    ctx.logger.notice(`Client ${conn.clientId} subscription '${filter}' refused: filter ${problem}.`)
    return v5 ? ReasonCode.TopicFilterInvalid : ReasonCode.UnspecifiedError
  }
  // [MQTT-3.2.2-?] never granted above max_qos (MQTT 5.0, 3.2.2.3.4)
  requested = Math.min(requested, ctx.options.maxQos)
  const authorize = ctx.auth.authorizeSubscribe
  if (authorize === undefined) return requested
  // A hook that throws refuses this one filter (SUBACK 0x80), not the whole connection.
  const allowed = askAuthorizer<QoS | false>(() => authorize(conn.info, filter, requested as QoS), false, (error) => ctx.hookFailed(error, conn.clientId))
  if (allowed === false) {
    ctx.logger.notice(`Denied SUBSCRIBE from ${conn.clientId} to '${filter}'.`)
    return v5 ? ReasonCode.NotAuthorized : ReasonCode.UnspecifiedError
  }
  // The server may grant a lower QoS than requested, never a higher one [MQTT-3.9.3-?].
  return Math.min(allowed, requested)
}
