// Outbound MQTT 5 topic aliases (MQTT 5.0, 3.3.2.3.4), for the broker sending to a client and
// for the client engine sending to a server. They live as long as one network connection
// [MQTT-3.3.2-7].

/** Aliases we assign to topics we send, up to the receiver's Topic Alias Maximum. */
export class OutboundAliases {
  private readonly aliases = new Map<string, number>()

  constructor (public maximum = 0) {}

  /**
   * The alias for a topic and whether the receiver already knows it; undefined when aliases are
   * off or all are taken (topics keep the aliases they got first: no eviction, no surprises).
   */
  lookup (topic: string): { alias: number, known: boolean } | undefined {
    if (this.maximum === 0) return undefined
    const alias = this.aliases.get(topic)
    if (alias !== undefined) return { alias, known: true }
    if (this.aliases.size >= this.maximum) return undefined
    const next = this.aliases.size + 1
    this.aliases.set(topic, next)
    return { alias: next, known: false }
  }

  /**
   * Takes back the alias `lookup` has just given a topic whose packet was not sent (too large for
   * the receiver): it was never learned, so it must not be used later without its topic
   * [MQTT-3.3.2-12]. Only the newest alias is taken back, which keeps the numbering dense.
   */
  release (topic: string): void {
    if (this.aliases.get(topic) === this.aliases.size) this.aliases.delete(topic)
  }

  reset (maximum: number): void {
    this.aliases.clear()
    this.maximum = maximum
  }
}
