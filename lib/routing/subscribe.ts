// The one subscribe step for every subscriber: a client's SUBSCRIBE and broker.subscribe() (and
// bridges after them). Validates the filter, caps the QoS, asks the authorizers, records the
// subscription, and says whether retained messages are due, by the Retain Handling rules coded
// here once. Each caller words a refusal its own way: a SUBACK code, or an error thrown in process.
import type { BrokerContext } from '../context'
import { ReasonCode } from '../errors'
import { sendRetained } from '../retained/deliver'
import type { Deliverable } from '../router'
import { addSubscription, type SubscriptionOwner } from '../session/subscriptions'
import { parseSubscriptionFilter } from '../topics/shared'
import type { ClientInfo, Message, QoS, SubscriptionOptions } from '../types'

/** The largest Subscription Identifier (a Variable Byte Integer, MQTT 5.0, 3.8.2.1.2). */
const MAX_SUBSCRIPTION_ID = 268_435_455

/** What the subscribe step reads of the broker. */
export type SubscribeContext = Pick<BrokerContext, 'options' | 'auth' | 'router' | 'retainedFor'>

/** A subscriber the step can record subscriptions for and send retained messages to. */
export type SubscribingOwner = SubscriptionOwner & Deliverable

export interface SubscribeRequest {
  /** The filter as sent, `$share/<group>/` included. */
  filter: string
  qos: QoS
  /** Subscription options: a client's MQTT 5 options, a bridge's implied ones; undefined for none. */
  options: SubscriptionOptions | undefined
  /** MQTT 5 rules and reason codes; false for MQTT 3.1/3.1.1, whose refusals are all 0x80. */
  mqtt5: boolean
}

export interface Grant {
  /**
   * The QoS granted (0-2), or why not as a SUBACK reason code (0x80 and up). ReasonCode.ProtocolError
   * means the request breaks a rule that ends a client's connection (No Local on a shared subscription).
   */
  code: number
  /** Why it was refused, in the words of a log line or an error; undefined when granted. */
  reason: string | undefined
  /** Retained messages are due now (for a client: right after its SUBACK), as Retain Handling says. */
  retainedDue: boolean
}

/** Is this a Subscription Identifier a SUBSCRIBE may carry (1 to 268,435,455; 0 is a Protocol Error)? */
export function isSubscriptionIdentifier (id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_SUBSCRIPTION_ID
}

/**
 * Subscribes `owner` to one filter. `client` is who answers to the authorizers; undefined for
 * the in-process API, the embedding program itself.
 */
export function subscribe (ctx: SubscribeContext, owner: SubscribingOwner, client: ClientInfo | undefined, request: SubscribeRequest): Grant {
  const { filter, options } = request
  const v5 = request.mqtt5
  const parsed = parseSubscriptionFilter(filter, ctx.options.maxTopicLevels)
  // A filter we cannot accept is refused in SUBACK, the others still granted [MQTT-3.9.3-2].
  if (typeof parsed === 'string') return refused(v5 ? ReasonCode.TopicFilterInvalid : ReasonCode.UnspecifiedError, parsed)
  const shared = parsed.group !== undefined
  // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error (a bridge's is implied, not sent)
  if (v5 && shared && options?.noLocal === true) return refused(ReasonCode.ProtocolError, `no local on shared subscription '${filter}'`)
  // Never granted above max_qos (MQTT 5.0, 3.2.2.3.4)
  let qos = request.qos > ctx.options.maxQos ? ctx.options.maxQos : request.qos
  if (client !== undefined) {
    const allowed = ctx.auth.authorizeSubscribe(client, filter, qos)
    if (allowed === false) return refused(v5 ? ReasonCode.NotAuthorized : ReasonCode.UnspecifiedError, 'not authorized')
    qos = allowed
  }
  const replaced = addSubscription(ctx.router, owner, filter, qos, options)
  // Retain Handling (MQTT 5.0, 3.8.3.1): 0 sends on every subscribe, 1 only when the subscription
  // is new, 2 never; a shared subscription gets no retained messages on subscribe (4.8.2).
  const retainHandling = options?.retainHandling ?? 0
  const retainedDue = !shared && (retainHandling === 0 || (retainHandling === 1 && !replaced))
  return { code: qos, reason: undefined, retainedDue }
}

/** Sends the retained messages a granted subscription matches [MQTT-3.3.1-6], as far as read access allows. */
export function sendRetainedOnSubscribe (ctx: SubscribeContext, owner: Deliverable, filter: string, granted: QoS, subscriptionId: number | undefined): void {
  const sourceCheck = ctx.options.checkRetainSource ? (message: Message) => retainSourceAllowed(ctx, message) : undefined
  sendRetained(ctx.retainedFor(filter), owner, filter, granted, ctx.options.upgradeOutgoingQos, subscriptionId, ctx.auth.deliveryGate, sourceCheck)
}

/**
 * check_retain_source, as Mosquitto's retain.c does it: the client that published a retained
 * message is asked about again, with its current rights (write access to the topic). Messages
 * from the broker itself, the in-process API or another broker have no client to ask.
 */
function retainSourceAllowed (ctx: SubscribeContext, message: Message): boolean {
  const publisher = message.origin?.client
  return publisher === undefined || ctx.auth.authorizePublish(publisher, message.topic, message.qos, true)
}

function refused (code: number, reason: string): Grant {
  return { code, reason, retainedDue: false }
}
