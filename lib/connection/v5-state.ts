// What an MQTT 5 client told us in CONNECT, and the topic aliases of its connection. Only MQTT 5
// connections carry this object, so MQTT 3.1.1 connections stay small.
import { OutboundAliases } from '../codec/topic-aliases'

export class V5State {
  /** The client's Receive Maximum (MQTT 5.0, 3.1.2.11.3); 65,535 when absent. */
  receiveMaximum = 65535
  /** The client's Maximum Packet Size (3.1.2.11.4); 0 when absent (no limit but the protocol's). */
  maximumPacketSize = 0
  /** The client's Topic Alias Maximum (3.1.2.11.5): aliases we may use towards it. */
  topicAliasMaximum = 0
  /** Request Problem Information (3.1.2.11.7): may we send reason strings and user properties? */
  problemInformation = true
  /** Aliases the client set towards us, valid for this network connection only [MQTT-3.3.2-7]. */
  readonly inboundAliases = new Map<number, string>()
  /** Aliases we set towards the client, made when first needed. */
  private outbound: OutboundAliases | undefined
  /** Enhanced authentication: the method of the CONNECT, kept for re-authentication [MQTT-4.12.1-1]. */
  authMethod: string | undefined
  authStep = 0
  /** A re-authentication is under way. */
  reauthenticating = false
  /** The CONNECT waiting for its enhanced authentication to finish. */
  pendingConnect: unknown

  /**
   * The alias to send for a topic, and whether the topic itself must go too (first use).
   * Undefined once every alias the client allows is taken: the topic goes in full.
   */
  outboundAlias (topic: string): { alias: number, known: boolean } | undefined {
    if (this.topicAliasMaximum === 0) return undefined
    this.outbound ??= new OutboundAliases(this.topicAliasMaximum)
    return this.outbound.lookup(topic)
  }

  /** Takes back the alias just given to a topic whose packet was dropped. */
  forgetOutboundAlias (topic: string): void {
    this.outbound?.release(topic)
  }

}
