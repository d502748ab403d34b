// Packet identifiers of one client: PUBLISH (QoS 1/2), SUBSCRIBE and UNSUBSCRIBE share the space,
// and an identifier stays taken until its exchange completes [MQTT-2.3.1-2].
import { firstFreePacketId, followingPacketId } from '../codec/packet-id'

export class PacketIds {
  private readonly used = new Set<number>()
  private next = 1

  get size (): number { return this.used.size }

  /** A free non-zero identifier [MQTT-2.3.1-1], or 0 when all 65,535 are taken. */
  allocate (): number {
    const id = firstFreePacketId(this.next, this.used)
    if (id === 0) return 0
    this.next = followingPacketId(id)
    this.used.add(id)
    return id
  }


  release (id: number): void { this.used.delete(id) }
}
