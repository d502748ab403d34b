// In-process subscribers: a Node-RED node (or any code in the same process) subscribed through
// broker.subscribe(). Same routing, retained and QoS rules as a socket client, no encoding.
import type { Deliverable } from './router'
import type { Subscription } from './topics/trie'
import type { DeliveredMessage, Message, QoS } from './types'

export type MessageHandler = (message: DeliveredMessage) => void

export class LocalSubscriber implements Deliverable {
  matchGeneration = 0
  matchQos: QoS = 0
  readonly online = true
  readonly subscriptions = new Map<string, Subscription>()

  constructor (readonly key: string, private readonly handler: MessageHandler, private readonly onError: (error: Error) => void) {}

  deliver (message: Message, qos: QoS, retain: boolean): void {
    const delivered: DeliveredMessage = { topic: message.topic, payload: message.payload, qos, retain }
    if (message.properties !== undefined) delivered.properties = message.properties
    try {
      this.handler(delivered)
    } catch (error) {
      // A failing handler must not stop delivery to the other subscribers.
      this.onError(error instanceof Error ? error : new Error(String(error)))
    }
  }
}
