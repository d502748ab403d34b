// What a bridge uses of the broker it runs in: the admission step for messages from the remote,
// the subscribe step for topics going out, the broker's own write for its state notification,
// the logger and the events. Bridges see this, never BrokerCore itself.
import type { BrokerCore } from '../core'
import type { BridgeStatus } from '../events'
import type { Logger } from '../logger'
import type { Deliverable } from '../router'
import { admit, refusalLine } from '../routing/admit'
import { sendRetainedOnSubscribe, subscribe } from '../routing/subscribe'
import { removeSubscription, type SubscriptionOwner } from '../session/subscriptions'
import type { QueuedEntry } from '../store/records'
import type { SessionJournal } from '../store/store'
import type { ClientInfo, Message, QoS, SubscriptionOptions } from '../types'

/** Local subscriptions of a bridge: No Local keeps what it brought in from going back out [MQTT-3.8.3-3]; the retain flag stays as published. */
const BRIDGE_SUBSCRIPTION: Readonly<SubscriptionOptions> = Object.freeze({ noLocal: true, retainAsPublished: true, retainHandling: 0 })

export type BridgeSubscriber = SubscriptionOwner & Deliverable

export interface BridgeHost {
  readonly logger: Logger
  /** max_queued_messages and max_queued_bytes: the bound on what a bridge holds for its remote. */
  readonly maxQueuedMessages: number
  readonly maxQueuedBytes: number
  /** max_inflight_messages: QoS 1/2 messages unacknowledged by the remote at once (0: the protocol's limit). */
  readonly maxInflightMessages: number
  /** bridge_split_horizon: what came in over one bridge is not sent out over another. */
  readonly splitHorizon: boolean
  /** A message from the remote enters through admission; false (and a log line) when refused. */
  publishInbound (message: Message, client: ClientInfo | undefined): boolean
  /** The bridge's own state notification, written by the broker itself (past admission, as $SYS is). */
  publishNotification (message: Message): void
  /** Subscribes the bridge here; the refusal's reason, or undefined when granted. */
  subscribeLocal (subscriber: BridgeSubscriber, filter: string, qos: QoS, client: ClientInfo | undefined): string | undefined
  unsubscribeLocal (subscriber: BridgeSubscriber, filter: string): void
  stateChanged (status: BridgeStatus): void
  /** Where bridge queues are journaled: the broker's store. */
  readonly journal: SessionJournal
  /** The messages the store held for the named bridge at open, given once; undefined when none. */
  takeStoredQueue (name: string): QueuedEntry[] | undefined
  /** Bridges the store held messages for that no bridge has taken yet. */
  storedQueueNames (): string[]
}

export function brokerBridgeHost (core: BrokerCore): BridgeHost {
  return {
    logger: core.logger,
    get maxQueuedMessages () { return core.options.maxQueuedMessages },
    get maxQueuedBytes () { return core.options.maxQueuedBytes },
    get maxInflightMessages () { return core.options.maxInflightMessages },
    get splitHorizon () { return core.options.bridgeSplitHorizon },
    publishInbound (message, client) {
      const refused = admit(core, message, client)
      if (refused !== undefined) {
        core.logger.warning(refusalLine(`bridged message from ${message.origin?.clientId ?? 'a bridge'}`, message.topic, refused))
        return false
      }
      core.dispatchMessage(message)
      return true
    },
    publishNotification (message) {
      core.dispatchMessage(message)
    },
    subscribeLocal (subscriber, filter, qos, client) {
      const grant = subscribe(core, subscriber, client, { filter, qos, options: BRIDGE_SUBSCRIPTION, mqtt5: true })
      if (grant.code >= 0x80) return grant.reason ?? 'refused'
      if (grant.retainedDue) sendRetainedOnSubscribe(core, subscriber, filter, grant.code as QoS, undefined)
      return undefined
    },
    unsubscribeLocal (subscriber, filter) {
      removeSubscription(core.router, subscriber, filter)
    },
    stateChanged (status) {
      core.events.emit('bridgeState', status)
    },
    get journal () { return core.store },
    takeStoredQueue (name) {
      const queued = core.storedBridgeQueues.get(name)
      core.storedBridgeQueues.delete(name)
      return queued
    },
    storedQueueNames () {
      return [...core.storedBridgeQueues.keys()]
    }
  }
}
