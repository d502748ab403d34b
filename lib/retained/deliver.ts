// Retained messages sent to a new subscription: the retain flag set [MQTT-3.3.1-8], at the lesser
// of the stored message's QoS and the subscription's [MQTT-3.3.5-1] (the subscription's with
// upgrade_outgoing_qos, as Mosquitto does), with the subscription's identifier (MQTT 5.0, 3.3.4).
// Expired retained messages are not sent [MQTT-3.3.2-5], nor those the subscriber has no read
// access to, nor (with check_retain_source) those whose publisher may no longer write their topic.
import type { DeliveryGate } from '../auth/delivery'
import { type Deliverable, outgoingQos } from '../router'
import type { Message, QoS } from '../types'
import type { RetainedStore } from './retained'

/** check_retain_source: may the message's publisher still write its topic? The authorizers' publish rule. */
export type RetainSourceCheck = (message: Message) => boolean

export function sendRetained (retained: RetainedStore, subscriber: Deliverable, filter: string, granted: QoS,
  upgradeQos: boolean, subscriptionId: number | undefined, gate: DeliveryGate | undefined, sourceAllowed: RetainSourceCheck | undefined): void {
  const ids = subscriptionId === undefined ? undefined : [subscriptionId]
  const now = Date.now()
  retained.match(filter, (message) => {
    if (message.expiresAt !== undefined && message.expiresAt <= now) return
    if (gate !== undefined && !gate.allows(subscriber, message.topic)) return
    if (sourceAllowed !== undefined && !sourceAllowed(message)) return
    subscriber.deliver(message, outgoingQos(message.qos, granted, upgradeQos), true, ids)
  })
}
