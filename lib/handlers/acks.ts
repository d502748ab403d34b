// The acknowledgements a client sends back for messages we delivered, and PUBREL for messages it
// sent us (MQTT 3.1.1, 3.4-3.7; 4.3).
import type { Connection } from '../connection/connection'
import { encodeAck, PUBCOMP, PUBREL } from '../connection/acks'
import type { Session } from '../session/session'

/** PUBACK: QoS 1 delivery done. */
export function handlePuback (conn: Connection, packetId: number): void {
  const session = conn.session as Session
  if (!session.complete(packetId)) conn.ctx.logger.debug(`Client ${conn.clientId} sent PUBACK for unknown packet id ${packetId}.`)
}

/** PUBREC: the client has our QoS 2 message; we answer PUBREL [MQTT-4.3.3-1]. */
export function handlePubrec (conn: Connection, packetId: number): void {
  const session = conn.session as Session
  if (!session.released(packetId)) conn.ctx.logger.debug(`Client ${conn.clientId} sent PUBREC for unknown packet id ${packetId}.`)
  // PUBREL is sent even for an unknown id, so a client that lost track can finish its flow.
  conn.write(encodeAck(PUBREL, packetId))
}

/** PUBREL: the client releases its QoS 2 message; we forget the id and answer PUBCOMP [MQTT-4.3.3-2]. */
export function handlePubrel (conn: Connection, packetId: number): void {
  const session = conn.session as Session
  session.inboundQos2.delete(packetId)
  conn.write(encodeAck(PUBCOMP, packetId))
}

/** PUBCOMP: QoS 2 delivery done. */
export function handlePubcomp (conn: Connection, packetId: number): void {
  const session = conn.session as Session
  if (!session.complete(packetId)) conn.ctx.logger.debug(`Client ${conn.clientId} sent PUBCOMP for unknown packet id ${packetId}.`)
}
