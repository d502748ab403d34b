// DISCONNECT (MQTT 3.1.1, 3.14): the will is discarded [MQTT-3.14.4-3] and the connection closed.
import type { Connection } from '../connection/connection'

export function handleDisconnect (conn: Connection): void {
  conn.disconnecting = true
  conn.will = undefined
  // Flush: acknowledgements written for packets that came just before DISCONNECT (a PUBACK for
  // a PUBLISH in the same read) must still reach the client.
  conn.close('disconnect', true)
}
