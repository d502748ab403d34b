// The dispatcher: the one place that guards connection state and routes each packet to its
// handler. Handlers throw ProtocolError; the connection turns that into a close (with a
// DISCONNECT reason code for MQTT 5).
import type mqttPacket from 'mqtt-packet'
import { readPacketProperties } from '../codec/packet-properties'
import type { PropertyValues } from '../codec/properties'
import type { Connection } from '../connection/connection'
import { decodePublish } from '../codec/publish-codec'
import { ProtocolError, ReasonCode } from '../errors'
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks'
import { handleAuth } from './auth'
import { checkProtocolHeader, handleConnect } from './connect'
import { handleDisconnect } from './disconnect'
import { handlePingreq } from './pingreq'
import { handlePublish } from './publish'
import { handleSubscribe } from './subscribe'
import { handleUnsubscribe } from './unsubscribe'

const CONNECT = 1
const PUBLISH = 3
const PUBACK = 4
const PUBREL = 6
const PUBCOMP = 7
const SUBSCRIBE = 8
const UNSUBSCRIBE = 10
const AUTH = 15
/** Fixed header flags of a PUBREL, SUBSCRIBE or UNSUBSCRIBE re-sent by an MQTT 3.1 client: DUP and QoS 1. */
const MQTT31_RESENT_FLAGS = 0x0a
const DUP_BIT = 0x08
const NO_PROPERTIES: PropertyValues = Object.freeze({ values: Object.freeze({}) }) as PropertyValues

export function handleFrame (conn: Connection, firstByte: number, body: Buffer, whole: Buffer): void {
  const type = firstByte >> 4
  if (conn.state === 'awaitingConnect') {
    // [MQTT-3.1.0-1] the first packet from a client must be CONNECT
    if (type !== CONNECT) throw new ProtocolError(ReasonCode.ProtocolError, 'first packet is not CONNECT')
    if (!checkProtocolHeader(conn, body)) return
    handleConnect(conn, conn.ctx.decoder.decode(whole, 4) as mqttPacket.IConnectPacket, body)
    return
  }
  // [MQTT-3.1.0-2] a second CONNECT is a protocol violation
  if (type === CONNECT) throw new ProtocolError(ReasonCode.ProtocolError, 'second CONNECT')
  if (conn.state === 'authenticating') {
    // While an enhanced authentication runs, only AUTH may arrive (MQTT 5.0, 4.12).
    if (type !== AUTH) throw new ProtocolError(ReasonCode.ProtocolError, 'packet other than AUTH before CONNACK')
  } else if (conn.state !== 'connected') {
    return
  }
  if ((firstByte & 0x0f) === MQTT31_RESENT_FLAGS && conn.protocolVersion === 3 && (type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE)) {
    // MQTT 3.1 (2.1, DUP) sets DUP when a client re-sends a PUBREL, SUBSCRIBE or UNSUBSCRIBE, as
    // an old device does after a reconnect; MQTT 3.1.1 and 5 reserve the bit [MQTT-2.2.2-1, -2].
    // The packet is read as its first sending; a rare path, so the copy costs nothing that counts.
    firstByte &= ~DUP_BIT
    whole = Buffer.from(whole)
    whole[0] = firstByte
  }
  // PUBACK, PUBREC, PUBREL, PUBCOMP: a packet identifier, and before MQTT 5 nothing else
  // (MQTT 3.1.1, 3.4.1-3.7.1: remaining length 2). mqtt-packet reads a missing id as -1.
  if (type >= PUBACK && type <= PUBCOMP && (body.length < 2 || (conn.protocolVersion !== 5 && body.length !== 2))) {
    throw new ProtocolError(ReasonCode.MalformedPacket, 'acknowledgement with a remaining length other than 2')
  }

  if (type === PUBLISH) {
    handlePublish(conn, decodePublish(firstByte, body, conn.protocolVersion))
    return
  }
  if (body.length === 2) {
    // One acknowledgement per QoS 1/2 message: the plain form (fixed header flags as the spec
    // sets them [MQTT-2.2.2-1], packet id only, which MQTT 5 reads as reason code Success
    // [MQTT-3.4.2-1]) is read in place. Any other form takes mqtt-packet's road below.
    const packetId = body.readUInt16BE(0)
    switch (firstByte) {
      case 0x40: handlePuback(conn, packetId); return
      case 0x50: handlePubrec(conn, packetId, 0); return
      case 0x62: handlePubrel(conn, packetId); return
      case 0x70: handlePubcomp(conn, packetId); return
    }
  }
  const v5 = conn.protocolVersion === 5
  // MQTT 5 property blocks are read strictly first: duplicates and misplaced properties are refused.
  const properties = v5 ? readPacketProperties(type, body) : NO_PROPERTIES
  const packet = conn.ctx.decoder.decode(whole, conn.protocolVersion)
  switch (packet.cmd) {
    case 'puback': handlePuback(conn, packet.messageId ?? 0); return
    case 'pubrec': handlePubrec(conn, packet.messageId ?? 0, packet.reasonCode ?? 0); return
    case 'pubrel': handlePubrel(conn, packet.messageId ?? 0); return
    case 'pubcomp': handlePubcomp(conn, packet.messageId ?? 0); return
    case 'subscribe': handleSubscribe(conn, packet, properties); return
    case 'unsubscribe': handleUnsubscribe(conn, packet); return
    case 'pingreq': handlePingreq(conn); return
    case 'disconnect': handleDisconnect(conn, packet, properties); return
    case 'auth':
      if (!v5) throw new ProtocolError(ReasonCode.MalformedPacket, 'AUTH is an MQTT 5 packet')
      handleAuth(conn, packet, properties)
      return
    default:
      // CONNACK, SUBACK, UNSUBACK and PINGRESP only ever travel from server to client.
      throw new ProtocolError(ReasonCode.ProtocolError, `unexpected ${packet.cmd.toUpperCase()} from a client`)
  }
}
