// PINGREQ (MQTT 3.1.1, 3.12): answered with PINGRESP [MQTT-3.12.4-1]. Keepalive was refreshed
// by the dispatcher when the packet arrived.
import type { Connection } from '../connection/connection'
import { PINGRESP_PACKET } from '../codec/acks'

export function handlePingreq (conn: Connection): void {
  conn.write(PINGRESP_PACKET)
}
