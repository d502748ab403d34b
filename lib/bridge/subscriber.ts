// A bridge as a subscriber of this broker: the router hands it every message its `out` and
// `both` topics match, with the message's origin (which split horizon reads), for the whole life
// of the bridge, connected or not, so nothing published while the remote is away is missed.
import type { Subscription } from '../topics/trie'
import type { ClientInfo, Message, QoS } from '../types'
import type { BridgeSubscriber } from './host'

export type OutboundSink = (message: Message, qos: QoS, retain: boolean) => void

export class BridgeLocalSubscriber implements BridgeSubscriber {
  matchGeneration = 0
  matchQos: QoS = 0
  matchRetain = false
  matchIds: number[] | undefined = undefined
  readonly online = true
  deliveryGeneration = 0
  deliveryAnswers: Map<string, boolean> | undefined = undefined
  readonly subscriptions = new Map<string, Subscription>()

  /**
   * `originKey` is the bridge's own origin key, so No Local skips what it published here.
   * `client` (local_username) is who read access is asked for; undefined: always allowed.
   */
  constructor (readonly key: string, readonly originKey: string, readonly client: ClientInfo | undefined,
    private readonly sink: OutboundSink, private readonly onError: (error: Error) => void) {}

  deliver (message: Message, qos: QoS, retain: boolean): void {
    try {
      this.sink(message, qos, retain)
    } catch (error) {
      this.onError(error instanceof Error ? error : new Error(String(error)))
    }
  }
}
