// The bytes of one PUBLISH to one client. Most deliveries share the encoder's bytes (stamped with
// the client's packet identifier for QoS 1 and 2); what belongs to this delivery alone (MQTT 5
// subscription identifiers, a topic alias) makes a packet of its own. A large payload is never
// copied per subscriber: the client gets a header of its own followed by the message's payload.
import { outboundPublishProperties, remainingExpirySec } from '../codec/publish-properties'
import type { Message, QoS } from '../types'
import { encodePublish, type PublishEncoder } from '../codec/publish-codec'
import type { V5State } from './v5-state'

/** Payloads from this size on are written after their header rather than copied into a packet. */
const PAYLOAD_APART_BYTES = 64 * 1024

/** Whether `encodeOutgoingPublish` gives only the header, the payload to be written after it. */
export function payloadApart (message: Message): boolean {
  return message.payload.length >= PAYLOAD_APART_BYTES
}

/**
 * The PUBLISH for one client, or only its header when `payloadApart(message)`. A packet over the
 * client's Maximum Packet Size is still returned (the caller drops it [MQTT-3.1.2-25]), but an
 * alias it would have set is taken back: never learned, it must not be used without its topic
 * later [MQTT-3.3.2-12].
 */
export function encodeOutgoingPublish (encoder: PublishEncoder, protocolVersion: number, v5: V5State | undefined,
  message: Message, qos: QoS, retain: boolean, dup: boolean, packetId: number, subscriptionIds: number[] | undefined,
  mountPoint: string | undefined): Buffer {
  const apart = payloadApart(message)
  // A client under a mount_point sees its topics without it: a packet of its own.
  const clientTopic = mountPoint === undefined ? message.topic : message.topic.slice(mountPoint.length)
  if (v5 !== undefined && (apart || subscriptionIds !== undefined || v5.topicAliasMaximum > 0 || mountPoint !== undefined)) {
    // A re-sent message keeps its full topic: the alias may have been set on another connection.
    const alias = dup ? undefined : v5.outboundAlias(clientTopic)
    const topic = alias?.known === true ? '' : clientTopic
    const properties = outboundPublishProperties(message, remainingExpirySec(message, Date.now()), subscriptionIds, alias?.alias)
    const packet = encodePublish(topic, message.payload, qos, retain, dup, packetId, 5, properties, apart)
    const size = apart ? packet.length + message.payload.length : packet.length
    if (alias?.known === false && v5.maximumPacketSize > 0 && size > v5.maximumPacketSize) v5.forgetOutboundAlias(clientTopic)
    return packet
  }
  if (apart || mountPoint !== undefined) return encodePublish(clientTopic, message.payload, qos, retain, dup, packetId, protocolVersion, undefined, apart)
  const shared = encoder.encode(message, qos, retain, protocolVersion)
  if (qos === 0) return shared
  // The shared encoding is a template: each subscriber gets its own packet identifier.
  const own = Buffer.allocUnsafe(shared.length)
  shared.copy(own)
  own.writeUInt16BE(packetId, encoder.packetIdOffset)
  if (dup) own[0] = (own[0] as number) | 0x08
  return own
}
