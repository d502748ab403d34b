// The one admission step every message passes before the router, whatever way it came in: a
// client's PUBLISH, a Last Will, the in-process API, a bridge's inbound messages (and cluster peers after them).
// A rule added here holds for all of them. Each way in only words the refusal its own way: a
// PUBACK/PUBREC reason code or a DISCONNECT, a log line for a will, an error thrown in process.
//
// Not here: what makes a packet malformed (a topic with wildcards, QoS 3), which each way in
// rejects as bad input before a message exists.
import { isUtf8 } from 'node:buffer'
import type { AuthChain } from '../auth/chain'
import { ReasonCode } from '../errors'
import type { BrokerOptions } from '../options'
import { countLevels, isSysTopic, isSysTopicClosedTo } from '../topics/validate'
import type { ClientInfo, Message } from '../types'

/** Which rule refused a message. */
export type RefusalRule = 'maxQos' | 'size' | 'levels' | 'sys' | 'retain' | 'payloadFormat' | 'denied'

export interface Refusal {
  readonly rule: RefusalRule
  /** The MQTT 5 reason code a PUBACK or PUBREC carries for it (MQTT 5.0, 3.4.2.1). */
  readonly reasonCode: number
  /** Why, in the words of a log line or an error: "$SYS is read-only". */
  readonly reason: string
}

/** What admission reads of the broker. */
export interface AdmissionContext {
  readonly options: BrokerOptions
  readonly auth: AuthChain
}

/**
 * Decides whether a message may enter the router; undefined when it may. `client` is who answers
 * for it to the authorizers (the publisher, or the will's client); undefined for the in-process
 * API, which is the embedding program itself, and for messages another broker already admitted.
 */
export function admit (ctx: AdmissionContext, message: Message, client: ClientInfo | undefined): Refusal | undefined {
  const { options } = ctx
  const { topic, qos } = message
  // [MQTT-3.2.2-11] nothing above the Maximum QoS the server supports
  if (qos > options.maxQos) return refusal('maxQos', ReasonCode.QoSNotSupported, `QoS ${qos} is over max_qos ${options.maxQos}`)
  const payloadBytes = message.payload.length
  if (options.messageSizeLimit > 0 && payloadBytes > options.messageSizeLimit) {
    return refusal('size', ReasonCode.PacketTooLarge, `message_size_limit is ${options.messageSizeLimit}`)
  }
  if (countLevels(topic) > options.maxTopicLevels) return refusal('levels', ReasonCode.TopicNameInvalid, `more than ${options.maxTopicLevels} topic levels`)
  // $SYS is the broker's own tree: read-only to every way in, a Mosquitto bridge's report of its
  // own link state apart. The broker writes it itself, past admission.
  if (client === undefined ? isSysTopic(topic) : isSysTopicClosedTo(topic, client)) return refusal('sys', ReasonCode.NotAuthorized, '$SYS is read-only')
  // MQTT 5 clients are told Retain Available 0 in CONNACK [MQTT-3.2.2-14]
  if (message.retain && !options.retainAvailable) return refusal('retain', ReasonCode.RetainNotSupported, 'retain_available is false')
  // Payload Format Indicator 1 promises UTF-8 (MQTT 5.0, 3.3.2.3.2)
  if (message.properties?.payloadFormatIndicator === true && !isUtf8(message.payload)) {
    return refusal('payloadFormat', ReasonCode.PayloadFormatInvalid, 'payload format indicator 1 with a payload that is not UTF-8')
  }
  if (client !== undefined && !ctx.auth.authorizePublish(client, topic, qos, message.retain)) {
    return refusal('denied', ReasonCode.NotAuthorized, 'not authorized')
  }
  return undefined
}

/** A log line for a refused message: `Dropped <what> to '<topic>': <reason>.` */
export function refusalLine (what: string, topic: string, refused: Refusal): string {
  return `Dropped ${what} to '${topic}': ${refused.reason}.`
}

function refusal (rule: RefusalRule, reasonCode: number, reason: string): Refusal {
  return { rule, reasonCode, reason }
}
