// Retained messages sent to a new subscription: the retain flag set [MQTT-3.3.1-8], at the lesser
// of the stored message's QoS and the subscription's [MQTT-3.3.5-1].
import type { Deliverable } from '../router'
import type { QoS } from '../types'
import type { RetainedStore } from './retained'

export function sendRetained (retained: RetainedStore, subscriber: Deliverable, filter: string, granted: QoS): void {
  retained.match(filter, (message) => {
    subscriber.deliver(message, message.qos < granted ? message.qos : granted, true)
  })
}
