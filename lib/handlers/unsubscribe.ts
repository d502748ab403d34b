// UNSUBSCRIBE (MQTT 3.1.1, 3.10): remove each filter and answer UNSUBACK, even when the client
// had no such subscription [MQTT-3.10.4-5].
import type mqttPacket from 'mqtt-packet'
import type { Connection } from '../connection/connection'
import type { Session } from '../session/session'
import { removeSubscription } from '../session/subscriptions'

export function handleUnsubscribe (conn: Connection, packet: mqttPacket.IUnsubscribePacket): void {
  const { ctx } = conn
  const session = conn.session as Session
  for (const filter of packet.unsubscriptions) removeSubscription(ctx.router, session, filter)
  conn.sendPacket({ cmd: 'unsuback', messageId: packet.messageId } as mqttPacket.IUnsubackPacket)
  ctx.events.emit('unsubscribe', { clientId: conn.clientId, filters: packet.unsubscriptions })
}
