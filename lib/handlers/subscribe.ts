// SUBSCRIBE (MQTT 3.1.1, 3.8; MQTT 5.0, 3.8): each filter through the subscribe step every
// subscriber shares (routing/subscribe.ts), SUBACK with one code per filter, then the retained
// messages the new subscriptions match [MQTT-3.3.1-6], as Retain Handling says (MQTT 5.0, 3.8.3.1).
import type mqttPacket from 'mqtt-packet'
import type { PropertyValues } from '../codec/properties'
import { encodeSuback } from '../codec/acks'
import type { Connection } from '../connection/connection'
import { ProtocolError, ReasonCode } from '../errors'
import { isSubscriptionIdentifier, sendRetainedOnSubscribe, subscribe } from '../routing/subscribe'
import type { Session } from '../session/session'
import { mountFilter } from '../topics/mount-point'
import type { QoS, SubscriptionOptions } from '../types'

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
  if (subscriptionId !== undefined && !isSubscriptionIdentifier(subscriptionId)) {
    throw new ProtocolError(ReasonCode.ProtocolError, `subscription identifier ${subscriptionId}`)
  }
  const granted: number[] = []
  const retainedToSend: Array<{ filter: string, qos: QoS }> = []
  const filters: string[] = []
  for (const subscription of packet.subscriptions) {
    const filter = mountFilter(conn.mountPoint, subscription.topic)
    filters.push(filter)
    const options: SubscriptionOptions | undefined = v5
      ? { noLocal: subscription.nl === true, retainAsPublished: subscription.rap === true, retainHandling: (subscription.rh ?? 0) as 0 | 1 | 2, subscriptionIdentifier: subscriptionId }
      : conn.bridge ? BRIDGE_OPTIONS : undefined
    const grant = subscribe(ctx, session, conn.info, { filter, qos: subscription.qos, options, mqtt5: v5 })
    if (grant.code === ReasonCode.ProtocolError) throw new ProtocolError(ReasonCode.ProtocolError, grant.reason as string)
    granted.push(grant.code)
    if (grant.reason !== undefined) {
      ctx.logger.notice(`Client ${conn.clientId} subscription '${filter}' refused: ${grant.reason}.`)
      continue
    }
    ctx.logger.debug(`${conn.clientId} ${grant.code} ${filter}`)
    if (grant.retainedDue) retainedToSend.push({ filter, qos: grant.code as QoS })
  }
  // [MQTT-3.8.4-1] SUBACK with the same packet id; [MQTT-3.8.4-5] one code per filter, in order
  conn.acknowledge(encodeSuback(packet.messageId as number, granted, v5))
  if (ctx.events.listenerCount('subscribe') > 0) {
    ctx.events.emit('subscribe', {
      clientId: conn.clientId,
      subscriptions: filters.map((filter, i) => ({ filter, qos: granted[i] as QoS | 0x80 }))
    })
  }
  for (const { filter, qos } of retainedToSend) sendRetainedOnSubscribe(ctx, session, filter, qos, subscriptionId)
}
