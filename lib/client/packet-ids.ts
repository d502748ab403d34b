// Packet identifiers of one client: PUBLISH (QoS 1/2), SUBSCRIBE and UNSUBSCRIBE share the space,
// and an identifier stays taken until its exchange completes [MQTT-2.3.1-2].

export class PacketIds {
  private readonly used = new Set<number>()
  private next = 1

  get size (): number { return this.used.size }

  /** A free non-zero identifier [MQTT-2.3.1-1], or 0 when all 65,535 are taken. */
  allocate (): number {
    if (this.used.size >= 65535) return 0
    let id = this.next
    while (this.used.has(id)) id = id === 65535 ? 1 : id + 1
    this.next = id === 65535 ? 1 : id + 1
    this.used.add(id)
    return id
  }

  release (id: number): void { this.used.delete(id) }
}
