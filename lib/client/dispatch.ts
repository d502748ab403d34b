// Routes each packet from the server to the part of the client that owns it. Like the broker's
// dispatcher, it alone guards state: before CONNACK only CONNACK is allowed, and packets a server
// must never send are protocol errors. Throws ProtocolError; the client turns it into a close.
import type mqttPacket from 'mqtt-packet'
import type { PacketDecoder } from '../codec/decoder'
import { ProtocolError, ReasonCode } from '../errors'
import type { Incoming } from './incoming'
import type { Outgoing } from './outgoing'
import type { Requests } from './requests'

export interface DispatchTarget {
  readonly protocolVersion: number
  readonly awaitingConnack: boolean
  /** True when CONNECT named an authentication method: only then may the server send AUTH [MQTT-4.12.0-6]. */
  readonly acceptsAuth: boolean
  readonly decoder: PacketDecoder
  readonly incoming: Incoming
  readonly outgoing: Outgoing
  readonly requests: Requests
  onConnack (packet: mqttPacket.IConnackPacket): void
  onServerDisconnect (packet: mqttPacket.IDisconnectPacket): void
  /** AUTH from the server, read by enhanced-auth.ts (not mqtt-packet, which refuses an empty one). */
  onAuth (firstByte: number, body: Buffer): void
}

const CONNACK = 2
const PUBLISH = 3
const PUBACK = 4
const PUBREC = 5
const PUBREL = 6
const PUBCOMP = 7
const SUBACK = 9
const UNSUBACK = 11
const PINGRESP = 13
const DISCONNECT = 14
const AUTH = 15

/** Packet id and reason code of PUBACK/PUBREC/PUBREL/PUBCOMP (MQTT 5.0, 3.4.2: code 0 when absent). */
function readAck (firstByte: number, body: Buffer, expectedFlags: number, version: number): { packetId: number, reasonCode: number } {
  // [MQTT-2.2.2-1] reserved flags must be as the spec lists them
  if ((firstByte & 0x0f) !== expectedFlags) throw new ProtocolError(ReasonCode.MalformedPacket, `acknowledgement 0x${firstByte.toString(16)} with wrong flags`)
  if (body.length < 2 || (version !== 5 && body.length !== 2)) throw new ProtocolError(ReasonCode.MalformedPacket, 'acknowledgement of the wrong length')
  const packetId = body.readUInt16BE(0)
  if (packetId === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'acknowledgement for packet identifier 0')
  return { packetId, reasonCode: body.length > 2 ? body[2] as number : 0 }
}

export function dispatchFrame (target: DispatchTarget, firstByte: number, body: Buffer, whole: Buffer): void {
  const type = firstByte >> 4
  const version = target.protocolVersion
  if (target.awaitingConnack) {
    // An enhanced authentication exchanges AUTH packets before CONNACK (MQTT 5.0, 4.12).
    if (type === AUTH && target.acceptsAuth) {
      target.onAuth(firstByte, body)
      return
    }
    // [MQTT-3.2.0-1] the first packet from the server is CONNACK
    if (type !== CONNACK) throw new ProtocolError(ReasonCode.ProtocolError, `packet type ${type} before CONNACK`)
    target.onConnack(target.decoder.decode(whole, version) as mqttPacket.IConnackPacket)
    return
  }
  switch (type) {
    case PUBLISH:
      target.incoming.onPublish(firstByte, body)
      return
    case PUBACK: {
      const ack = readAck(firstByte, body, 0, version)
      target.outgoing.onPuback(ack.packetId, ack.reasonCode)
      return
    }
    case PUBREC: {
      const ack = readAck(firstByte, body, 0, version)
      target.outgoing.onPubrec(ack.packetId, ack.reasonCode)
      return
    }
    case PUBREL:
      // [MQTT-3.6.1-1] PUBREL's flags are 0010
      target.incoming.onPubrel(readAck(firstByte, body, 2, version).packetId)
      return
    case PUBCOMP: {
      const ack = readAck(firstByte, body, 0, version)
      target.outgoing.onPubcomp(ack.packetId, ack.reasonCode)
      return
    }
    case SUBACK:
      target.requests.onSuback(target.decoder.decode(whole, version) as mqttPacket.ISubackPacket)
      return
    case UNSUBACK:
      target.requests.onUnsuback(target.decoder.decode(whole, version) as mqttPacket.IUnsubackPacket)
      return
    case PINGRESP:
      return
    case DISCONNECT:
      if (version !== 5) throw new ProtocolError(ReasonCode.ProtocolError, 'DISCONNECT from the server before MQTT 5')
      target.onServerDisconnect(target.decoder.decode(whole, version) as mqttPacket.IDisconnectPacket)
      return
    case AUTH:
      // [MQTT-4.12.0-6] no AUTH from the server unless CONNECT named a method
      if (!target.acceptsAuth) throw new ProtocolError(ReasonCode.ProtocolError, 'AUTH without enhanced authentication')
      target.onAuth(firstByte, body)
      return
    default:
      // CONNECT, SUBSCRIBE, UNSUBSCRIBE and PINGREQ go to servers only.
      throw new ProtocolError(ReasonCode.ProtocolError, `unexpected packet type ${type} from the server`)
  }
}
