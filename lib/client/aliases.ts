// MQTT 5 topic aliases (MQTT 5.0, 3.3.2.3.4). They live as long as one network connection
// [MQTT-3.3.2-7]: both maps are reset on every new connection.
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

/** Aliases we assign to topics we publish, up to the server's topic alias maximum. */
export class OutboundAliases {
  private readonly aliases = new Map<string, number>()
  maximum = 0

  /**
   * The alias for a topic and whether the server already knows it; undefined when aliases are off
   * or all are taken (topics keep the aliases they got first: no eviction, no surprises).
   */
  lookup (topic: string): { alias: number, known: boolean } | undefined {
    const alias = this.aliases.get(topic)
    if (alias !== undefined) return { alias, known: true }
    if (this.aliases.size >= this.maximum) return undefined
    const next = this.aliases.size + 1
    this.aliases.set(topic, next)
    return { alias: next, known: false }
  }

  reset (maximum: number): void {
    this.aliases.clear()
    this.maximum = maximum
  }
}
