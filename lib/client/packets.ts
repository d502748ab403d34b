// Encoding of the packets a client sends besides PUBLISH and the acknowledgements: CONNECT,
// SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT. mqtt-packet's generate() reports an invalid packet
// by throwing from its accumulator; every call goes through encode() so the caller gets a
// ClientError and nothing half-made is ever written.
import mqttPacket from 'mqtt-packet'
import type { ProtocolVersion } from '../types'
import { ClientError } from './errors'
import type { ClientOptions } from './options'
import type { ClientSubscription, SubscribeProperties } from './types'

export const PINGREQ_PACKET = Buffer.from([0xc0, 0x00])
/** DISCONNECT with no reason code: 3.1.1's only form, and MQTT 5's "normal disconnection". */
export const DISCONNECT_PACKET = Buffer.from([0xe0, 0x00])

export function encode (packet: mqttPacket.Packet, protocolVersion: ProtocolVersion): Buffer {
  try {
    return mqttPacket.generate(packet, { protocolVersion })
  } catch (error) {
    throw new ClientError('INVALID_PACKET', `cannot encode ${packet.cmd}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function toBuffer (value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value
}

/** `auth`: the Authentication Method and Data of an enhanced authentication (MQTT 5 only). */
export function encodeConnect (options: ClientOptions, clientId: string, auth?: { authenticationMethod: string, authenticationData?: Buffer }): Buffer {
  const version = options.protocolVersion
  const packet: mqttPacket.IConnectPacket = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clientId,
    clean: options.cleanSession,
    keepalive: options.keepaliveSec
  }
  // try_private: mqtt-packet sets bit 7 of the protocol level; MQTT 5 has no such bit.
  if (options.bridgeMarker === true && version !== 5) (packet as mqttPacket.IConnectPacket & { bridgeMode: boolean }).bridgeMode = true
  if (options.username !== undefined) packet.username = options.username
  if (options.password !== undefined) packet.password = toBuffer(options.password)
  const will = options.will
  if (will !== undefined) {
    packet.will = {
      topic: will.topic,
      payload: toBuffer(will.payload ?? Buffer.alloc(0)),
      qos: will.qos ?? 0,
      retain: will.retain === true
    }
    if (version === 5 && will.properties !== undefined) {
      const { topicAlias: _alias, subscriptionIdentifier: _id, ...allowed } = will.properties
      packet.will.properties = allowed
    }
  }
  if (version === 5 && options.properties !== undefined) packet.properties = { ...options.properties }
  if (version === 5 && auth !== undefined) packet.properties = { ...packet.properties, ...auth }
  return encode(packet, version)
}

export function encodeSubscribe (messageId: number, subscriptions: ClientSubscription[],
  properties: SubscribeProperties | undefined, version: ProtocolVersion): Buffer {
  const packet: mqttPacket.ISubscribePacket = {
    cmd: 'subscribe',
    messageId,
    subscriptions: subscriptions.map((sub) => {
      const entry: mqttPacket.ISubscription = { topic: sub.filter, qos: sub.qos }
      if (version === 5) {
        entry.nl = (sub.nl ?? sub.noLocal) === true
        entry.rap = (sub.rap ?? sub.retainAsPublished) === true
        entry.rh = sub.rh ?? sub.retainHandling ?? 0
      }
      return entry
    })
  }
  if (version === 5 && properties !== undefined) packet.properties = properties
  return encode(packet, version)
}

export function encodeUnsubscribe (messageId: number, filters: string[], version: ProtocolVersion): Buffer {
  return encode({ cmd: 'unsubscribe', messageId, unsubscriptions: filters }, version)
}

export function encodeDisconnect (version: ProtocolVersion, reasonCode = 0, properties?: mqttPacket.IDisconnectPacket['properties']): Buffer {
  if (version !== 5 || (reasonCode === 0 && properties === undefined)) return DISCONNECT_PACKET
  const packet: mqttPacket.IDisconnectPacket = { cmd: 'disconnect', reasonCode }
  if (properties !== undefined) packet.properties = properties
  return encode(packet, version)
}
