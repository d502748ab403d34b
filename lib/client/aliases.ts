// Inbound MQTT 5 topic aliases (MQTT 5.0, 3.3.2.3.4), set by the server; they live as long as one
// network connection [MQTT-3.3.2-7] and are reset on every new one. Outbound ones are in
// lib/codec/topic-aliases.ts, shared with the broker.
import { ProtocolError, ReasonCode } from '../errors'

/** Aliases the server set for messages it sends us; up to the maximum we announced. */
export class InboundAliases {
  private readonly topics = new Map<number, string>()

  constructor (public maximum: number) {}

  /** The topic a PUBLISH stands for. Throws ProtocolError for an alias we cannot accept. */
  resolve (topic: string, alias: number | undefined): string {
    if (alias === undefined) {
      if (topic === '') throw new ProtocolError(ReasonCode.ProtocolError, 'PUBLISH with an empty topic and no topic alias')
      return topic
    }
    // [MQTT-3.3.2-9] [MQTT-3.3.2-10] an alias of 0 or over our maximum is a protocol error (0x94)
    if (alias === 0 || alias > this.maximum) throw new ProtocolError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} outside 1..${this.maximum}`)
    if (topic !== '') {
      this.topics.set(alias, topic)
      return topic
    }
    const known = this.topics.get(alias)
    if (known === undefined) throw new ProtocolError(ReasonCode.ProtocolError, `topic alias ${alias} was never set`)
    return known
  }

  reset (): void { this.topics.clear() }
}
