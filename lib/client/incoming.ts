// PUBLISH packets from the server: topic aliases resolved, QoS 1 acknowledged, QoS 2 delivered
// exactly once (the packet id is kept until PUBREL: "method B" of MQTT 3.1.1, 4.3.3), and our
// receive maximum enforced (MQTT 5.0, 4.9).
import { encodeAck, PUBACK, PUBCOMP, PUBREC } from '../codec/acks'
import { decodePublish } from '../codec/publish-codec'
import { ProtocolError, ReasonCode } from '../errors'
import type { DeliveredMessage, PublishProperties, QoS } from '../types'
import { InboundAliases } from './aliases'
import type { ClientLink } from './types'

/**
 * Properties as a caller expects them: without the topic alias (the topic is resolved already)
 * and with user properties in a plain object (mqtt-packet builds one without a prototype).
 */
function deliverable (properties: PublishProperties): PublishProperties | undefined {
  const { topicAlias: _alias, ...rest } = properties
  if (rest.userProperties !== undefined) rest.userProperties = { ...rest.userProperties }
  return Object.keys(rest).length > 0 ? rest : undefined
}

export type MessageSink = (message: DeliveredMessage & { dup: boolean, messageId?: number }) => void

export class Incoming {
  /** [MQTT-4.3.3-2] QoS 2 packet ids received and not yet released by PUBREL. */
  private readonly awaitingRelease = new Set<number>()
  private readonly aliases: InboundAliases

  constructor (private readonly link: ClientLink,
    private readonly receiveMaximum: number, topicAliasMaximum: number, private readonly deliver: MessageSink,
    private readonly withMessageIds = false) {
    this.aliases = new InboundAliases(topicAliasMaximum)
  }

  /** A new connection: aliases start over; QoS 2 state survives only with the session. */
  onConnected (sessionPresent: boolean): void {
    this.aliases.reset()
    if (!sessionPresent) this.awaitingRelease.clear()
  }

  /** Throws ProtocolError for a packet the server must not send. */
  onPublish (firstByte: number, body: Buffer): void {
    const version = this.link.protocolVersion
    let topic: string
    let payload: Buffer
    let qos: QoS
    let retain: boolean
    let dup: boolean
    let messageId: number
    let properties: PublishProperties | undefined
    const decoded = decodePublish(firstByte, body, version)
    ;({ topic, payload, qos, retain, dup, messageId } = decoded)
    const v5 = decoded.v5
    if (v5 !== undefined) {
      properties = { ...v5.properties }
      if (v5.topicAlias !== undefined) properties.topicAlias = v5.topicAlias
      const ids = v5.subscriptionIdentifiers
      if (ids !== undefined) properties.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids
    }
    if (version === 5) {
      topic = this.aliases.resolve(topic, properties?.topicAlias)
      if (properties !== undefined) properties = deliverable(properties)
    } else if (topic === '') {
      throw new ProtocolError(ReasonCode.ProtocolError, 'PUBLISH with an empty topic')
    }
    const message: DeliveredMessage & { dup: boolean, messageId?: number } = { topic, payload, qos, retain, dup }
    if (properties !== undefined) message.properties = properties
    if (this.withMessageIds) message.messageId = messageId
    if (qos === 0) {
      this.deliver(message)
    } else if (qos === 1) {
      this.deliver(message)
      this.link.write(encodeAck(PUBACK, messageId))
    } else {
      if (!this.awaitingRelease.has(messageId)) {
        // [MQTT-3.3.4-9] the server must not exceed the receive maximum we announced
        if (this.awaitingRelease.size >= this.receiveMaximum) {
          throw new ProtocolError(ReasonCode.ReceiveMaximumExceeded, `more than ${this.receiveMaximum} QoS 2 messages unreleased`)
        }
        this.awaitingRelease.add(messageId)
        this.deliver(message)
      }
      // A duplicate before PUBREL is acknowledged again but not delivered again [MQTT-4.3.3-2].
      this.link.write(encodeAck(PUBREC, messageId))
    }
  }

  /** PUBREL: the id may be reused; PUBCOMP even for an unknown id, so the server can finish. */
  onPubrel (packetId: number): void {
    const known = this.awaitingRelease.delete(packetId)
    this.link.write(encodeAck(PUBCOMP, packetId, known || this.link.protocolVersion !== 5 ? 0 : ReasonCode.PacketIdentifierNotFound))
  }
}
