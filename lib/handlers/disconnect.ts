// DISCONNECT (MQTT 3.1.1, 3.14; MQTT 5.0, 3.14): the will is discarded [MQTT-3.14.4-3] unless an
// MQTT 5 client asks for it with 0x04, and an MQTT 5 client may change its Session Expiry.
import type mqttPacket from 'mqtt-packet'
import type { PropertyValues } from '../codec/properties'
import type { Connection } from '../connection/connection'
import { ProtocolError, ReasonCode } from '../errors'
import type { Session } from '../session/session'

export function handleDisconnect (conn: Connection, packet: mqttPacket.IDisconnectPacket, properties: PropertyValues): void {
  const expiry = properties.values.sessionExpiryInterval as number | undefined
  if (expiry !== undefined) {
    const session = conn.session as Session
    // [MQTT-3.14.2-2] a session that was to end with the connection cannot be given an expiry here
    if (session.expiryIntervalSec === 0 && expiry !== 0) {
      throw new ProtocolError(ReasonCode.ProtocolError, 'DISCONNECT sets a session expiry after CONNECT set 0')
    }
    session.expiryIntervalSec = expiry
  }
  conn.disconnecting = true
  if (conn.protocolVersion === 5 && packet.reasonCode === ReasonCode.DisconnectWithWill) {
    conn.disconnectWithWill = true
  } else {
    conn.will = undefined
  }
  // Flush: acknowledgements written for packets that came just before DISCONNECT (a PUBACK for
  // a PUBLISH in the same read) must still reach the client.
  conn.close('disconnect', true)
}
