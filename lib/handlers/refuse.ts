// Refusing a CONNECT: CONNACK with the reason in the client's own protocol version, then close
// [MQTT-3.2.2-5]. MQTT 3.1.1 has five return codes; MQTT 5 has the full reason code list.
import type mqttPacket from 'mqtt-packet'
import type { Connection } from '../connection/connection'
import { ReasonCode } from '../errors'

/** MQTT 3.1.1 CONNACK return codes (MQTT 3.1.1, 3.2.2.3) for the MQTT 5 reason codes we refuse with. */
export function returnCodeFor (reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.UnsupportedProtocolVersion: return 1
    case ReasonCode.ClientIdentifierNotValid: return 2
    case ReasonCode.ServerUnavailable:
    case ReasonCode.ServerBusy:
    case ReasonCode.QuotaExceeded:
    case ReasonCode.ServerShuttingDown: return 3
    case ReasonCode.BadUserNameOrPassword: return 4
    default: return 5
  }
}

export function refuse (conn: Connection, reasonCode: number, why: string): void {
  const { ctx } = conn
  ctx.logger.notice(`Client ${conn.describe()} refused: ${why}.`)
  ctx.events.emit('clientRefused', { clientId: conn.clientId, username: conn.username, remoteAddress: conn.remoteAddress, reasonCode, reason: why })
  // [MQTT-3.2.2-4] a refused CONNACK has session present 0; then the connection closes [MQTT-3.2.2-5]
  let connack: mqttPacket.IConnackPacket
  if (conn.protocolVersion === 5) {
    connack = { cmd: 'connack', sessionPresent: false, reasonCode }
    // [MQTT-3.1.2-29] reason strings only for clients that did not turn problem information off
    if (conn.v5?.problemInformation !== false) connack.properties = { reasonString: why }
  } else {
    connack = { cmd: 'connack', sessionPresent: false, returnCode: returnCodeFor(reasonCode) }
  }
  conn.sendPacket(connack)
  conn.close('protocolError', true)
}
