// The dispatcher: the one place that guards connection state and routes each packet to its
// handler. Handlers throw ProtocolError; the connection turns that into a close.
import type mqttPacket from 'mqtt-packet'
import type { Connection } from '../connection/connection'
import { decodePublish, readPublishHeader } from '../connection/publish-codec'
import { ProtocolError, ReasonCode } from '../errors'
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks'
import { checkProtocolHeader, handleConnect } from './connect'
import { handleDisconnect } from './disconnect'
import { handlePingreq } from './pingreq'
import { handlePublish } from './publish'
import { handleSubscribe } from './subscribe'
import { handleUnsubscribe } from './unsubscribe'

const CONNECT = 1
const PUBLISH = 3

export function handleFrame (conn: Connection, firstByte: number, body: Buffer, whole: Buffer): void {
  const type = firstByte >> 4
  if (conn.state === 'awaitingConnect') {
    // [MQTT-3.1.0-1] the first packet from a client must be CONNECT
    if (type !== CONNECT) throw new ProtocolError(ReasonCode.ProtocolError, 'first packet is not CONNECT')
    if (!checkProtocolHeader(conn, body)) return
    handleConnect(conn, conn.ctx.decoder.decode(whole, 4) as mqttPacket.IConnectPacket)
    return
  }
  // [MQTT-3.1.0-2] a second CONNECT is a protocol violation
  if (type === CONNECT) throw new ProtocolError(ReasonCode.ProtocolError, 'second CONNECT')
  if (conn.state !== 'connected') return

  if (type === PUBLISH) {
    const publish = decodePublish(firstByte, body, conn.protocolVersion)
    if (publish !== undefined) {
      handlePublish(conn, publish)
      return
    }
  } else if (body.length === 2) {
    // One acknowledgement per QoS 1/2 message: the plain form (fixed header flags as the spec
    // sets them [MQTT-2.2.2-1], packet id only, which MQTT 5 reads as reason code Success) is
    // read in place. Any other form takes mqtt-packet's road below and is checked there.
    const packetId = body.readUInt16BE(0)
    switch (firstByte) {
      case 0x40: handlePuback(conn, packetId); return
      case 0x50: handlePubrec(conn, packetId); return
      case 0x62: handlePubrel(conn, packetId); return
      case 0x70: handlePubcomp(conn, packetId); return
    }
  }
  const packet = conn.ctx.decoder.decode(whole, conn.protocolVersion)
  switch (packet.cmd) {
    case 'publish': {
      // MQTT 5 with properties: topic and id checked from the raw bytes, the rest from mqtt-packet.
      const header = readPublishHeader(firstByte, body)
      handlePublish(conn, { ...header, payload: Buffer.from(packet.payload as Buffer) }, packet.properties)
      return
    }
    case 'puback': handlePuback(conn, packet.messageId ?? 0); return
    case 'pubrec': handlePubrec(conn, packet.messageId ?? 0); return
    case 'pubrel': handlePubrel(conn, packet.messageId ?? 0); return
    case 'pubcomp': handlePubcomp(conn, packet.messageId ?? 0); return
    case 'subscribe': handleSubscribe(conn, packet); return
    case 'unsubscribe': handleUnsubscribe(conn, packet); return
    case 'pingreq': handlePingreq(conn); return
    case 'disconnect': handleDisconnect(conn); return
    default:
      // CONNACK, SUBACK, UNSUBACK and PINGRESP only ever travel from server to client.
      throw new ProtocolError(ReasonCode.ProtocolError, `unexpected ${packet.cmd.toUpperCase()} from a client`)
  }
}
