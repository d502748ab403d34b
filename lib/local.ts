// In-process subscribers: a Node-RED node (or any code in the same process) subscribed through
// broker.subscribe(). Same routing, retained and QoS rules as a socket client, no encoding.
import type { Deliverable } from './router'
import type { Subscription } from './topics/trie'
import { type DeliveredMessage, LOCAL_ORIGIN, type Message, type QoS } from './types'

export type MessageHandler = (message: DeliveredMessage) => void

export class LocalSubscriber implements Deliverable {
  matchGeneration = 0
  matchQos: QoS = 0
  matchRetain = false
  matchIds: number[] | undefined = undefined
  readonly online = true
  /** The embedding program itself: read access is not asked. */
  readonly client = undefined
  deliveryGeneration = 0
  deliveryAnswers = undefined
  readonly subscriptions = new Map<string, Subscription>()

  /**
   * `originKey` is what No Local compares: by default every in-process subscriber shares the
   * in-process API's origin, so No Local skips all in-process publishes; a bridge passes its own.
   */
  constructor (readonly key: string, private readonly handler: MessageHandler, private readonly onError: (error: Error) => void,
    readonly originKey: string = LOCAL_ORIGIN.clientId) {}

  deliver (message: Message, qos: QoS, retain: boolean, subscriptionIds?: number[]): void {
    const delivered: DeliveredMessage = { topic: message.topic, payload: message.payload, qos, retain }
    if (message.properties !== undefined || subscriptionIds !== undefined) {
      delivered.properties = { ...message.properties }
      if (subscriptionIds !== undefined) {
        delivered.properties.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0] : subscriptionIds
      }
      if (message.expiresAt !== undefined) {
        delivered.properties.messageExpiryInterval = Math.max(0, Math.ceil((message.expiresAt - Date.now()) / 1000))
      }
    }
    try {
      this.handler(delivered)
    } catch (error) {
      // A failing handler must not stop delivery to the other subscribers.
      this.onError(error instanceof Error ? error : new Error(String(error)))
    }
  }
}
