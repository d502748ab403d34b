// UNSUBSCRIBE (MQTT 3.1.1, 3.10; MQTT 5.0, 3.10): remove each filter and answer UNSUBACK, even
// when the client had no such subscription [MQTT-3.10.4-5]; MQTT 5 says which with a reason code
// per filter (3.11.3).
import mqttPacket from 'mqtt-packet'
import type { Connection } from '../connection/connection'
import { ProtocolError, ReasonCode } from '../errors'
import type { Session } from '../session/session'
import { removeSubscription } from '../session/subscriptions'
import { mountFilter } from '../topics/mount-point'

export function handleUnsubscribe (conn: Connection, packet: mqttPacket.IUnsubscribePacket): void {
  const { ctx } = conn
  // [MQTT-2.3.1-1] UNSUBSCRIBE carries a non-zero packet identifier (MQTT 5.0: [MQTT-2.2.1-3])
  if (packet.messageId === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'UNSUBSCRIBE with packet identifier 0')
  // [MQTT-3.10.3-2] an UNSUBSCRIBE carries at least one filter; mqtt-packet lets an empty one through
  if (packet.unsubscriptions.length === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'UNSUBSCRIBE with no topic filter')
  const session = conn.session as Session
  const reasonCodes: number[] = []
  for (const filter of packet.unsubscriptions) {
    const removed = removeSubscription(ctx.router, session, mountFilter(conn.mountPoint, filter))
    reasonCodes.push(removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted)
  }
  // mqtt-packet writes MQTT 5 UNSUBACK reason codes from `granted`; MQTT 3.1.1 has none.
  conn.acknowledge(mqttPacket.generate({ cmd: 'unsuback', messageId: packet.messageId, granted: conn.protocolVersion === 5 ? reasonCodes : [] }, { protocolVersion: conn.protocolVersion }))
  ctx.events.emit('unsubscribe', { clientId: conn.clientId, filters: packet.unsubscriptions })
}
