// The acknowledgements a client sends back for messages we delivered, and PUBREL for messages it
// sent us (MQTT 3.1.1, 3.4-3.7; MQTT 5.0, 3.4-3.7 and 4.3).
import type { Connection } from '../connection/connection'
import { encodeAck, PUBCOMP, PUBREL } from '../codec/acks'
import { ReasonCode } from '../errors'
import type { Session } from '../session/session'

/** PUBACK: QoS 1 delivery done, whatever its reason code. */
export function handlePuback (conn: Connection, packetId: number): void {
  const session = conn.session as Session
  if (!session.complete(packetId, 'puback')) conn.ctx.logger.debug(`Client ${conn.clientId} sent PUBACK for packet id ${packetId}, not a QoS 1 message in flight.`)
}

/** PUBREC: the client has our QoS 2 message; we answer PUBREL [MQTT-4.3.3-1]. */
export function handlePubrec (conn: Connection, packetId: number, reasonCode: number): void {
  const session = conn.session as Session
  // MQTT 5: a PUBREC with a failure code ends the exchange; the packet id is free again (4.3.3).
  if (reasonCode >= 0x80) {
    session.complete(packetId)
    return
  }
  const known = session.released(packetId)
  if (!known) conn.ctx.logger.debug(`Client ${conn.clientId} sent PUBREC for unknown packet id ${packetId}.`)
  // PUBREL is sent even for an unknown id, so a client that lost track can finish its flow;
  // MQTT 5 says why with 0x92.
  conn.acknowledge(encodeAck(PUBREL, packetId, !known && conn.protocolVersion === 5 ? ReasonCode.PacketIdentifierNotFound : 0))
}

/** PUBREL: the client releases its QoS 2 message; we forget the id and answer PUBCOMP [MQTT-4.3.3-2]. */
export function handlePubrel (conn: Connection, packetId: number): void {
  const session = conn.session as Session
  const known = session.releaseInboundQos2(packetId)
  conn.acknowledge(encodeAck(PUBCOMP, packetId, !known && conn.protocolVersion === 5 ? ReasonCode.PacketIdentifierNotFound : 0))
}

/** PUBCOMP: QoS 2 delivery done. */
export function handlePubcomp (conn: Connection, packetId: number): void {
  const session = conn.session as Session
  if (!session.complete(packetId, 'pubcomp')) conn.ctx.logger.debug(`Client ${conn.clientId} sent PUBCOMP for packet id ${packetId}, not a released QoS 2 message.`)
}
