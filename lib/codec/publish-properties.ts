// The PUBLISH properties of MQTT 5 as the router carries them (MQTT 5.0, 3.3.2.3): read from the
// wire into a Message, and assembled again for each way a message leaves.
import { ProtocolError, ReasonCode } from '../errors'
import type { Message, PublishProperties } from '../types'
import { pairsToObject, type PropertiesToWrite, type PropertyValues } from './properties'

/** What a client's PUBLISH said besides the message itself. */
export interface InboundPublishProperties {
  properties: PublishProperties | undefined
  userPropertyPairs: Array<[string, string]> | undefined
  topicAlias: number | undefined
  messageExpiryInterval: number | undefined
  /** Only a server may send these (MQTT 5.0, 3.3.4); the broker refuses them from clients. */
  subscriptionIdentifiers: number[] | undefined
}

export function inboundPublishProperties (read: PropertyValues): InboundPublishProperties {
  const v = read.values
  const format = v.payloadFormatIndicator as number | undefined
  if (format !== undefined && format !== 0 && format !== 1) {
    throw new ProtocolError(ReasonCode.ProtocolError, `payload format indicator ${format}`)
  }
  const properties: PublishProperties = {}
  let any = false
  if (format !== undefined) { properties.payloadFormatIndicator = format === 1; any = true }
  if (v.messageExpiryInterval !== undefined) { properties.messageExpiryInterval = v.messageExpiryInterval as number; any = true }
  if (v.contentType !== undefined) { properties.contentType = v.contentType as string; any = true }
  if (v.responseTopic !== undefined) { properties.responseTopic = v.responseTopic as string; any = true }
  if (v.correlationData !== undefined) { properties.correlationData = v.correlationData as Buffer; any = true }
  if (read.userProperties !== undefined) { properties.userProperties = pairsToObject(read.userProperties); any = true }
  return {
    properties: any ? properties : undefined,
    userPropertyPairs: read.userProperties,
    topicAlias: v.topicAlias as number | undefined,
    messageExpiryInterval: v.messageExpiryInterval as number | undefined,
    subscriptionIdentifiers: read.subscriptionIdentifiers
  }
}

/** Seconds left before the message expires, rounded up; undefined when it never does. */
export function remainingExpirySec (message: Message, nowMs: number): number | undefined {
  if (message.expiresAt === undefined) return undefined
  return Math.max(0, Math.ceil((message.expiresAt - nowMs) / 1000))
}

/**
 * The properties to send with a message to an MQTT 5 client. Response topic, correlation data,
 * content type, payload format and user properties pass unchanged [MQTT-3.3.2-4, -15, -16, -17,
 * -20]; the expiry interval is what is left of it [MQTT-3.3.2-6]; subscription identifiers and
 * topic alias belong to this one delivery.
 */
export function outboundPublishProperties (message: Message, expirySec: number | undefined,
  subscriptionIds: number[] | undefined, topicAlias: number | undefined): PropertiesToWrite | undefined {
  const p = message.properties
  if (p === undefined && expirySec === undefined && subscriptionIds === undefined && topicAlias === undefined) return undefined
  const out: PropertiesToWrite = {}
  if (p !== undefined) {
    if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator ? 1 : 0
    if (p.contentType !== undefined) out.contentType = p.contentType
    if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic
    if (p.correlationData !== undefined) out.correlationData = p.correlationData
    if (message.userPropertyPairs !== undefined) out.userProperties = message.userPropertyPairs
    else if (p.userProperties !== undefined) out.userProperties = p.userProperties
  }
  if (expirySec !== undefined) out.messageExpiryInterval = expirySec
  if (topicAlias !== undefined) out.topicAlias = topicAlias
  if (subscriptionIds !== undefined && subscriptionIds.length > 0) out.subscriptionIdentifier = subscriptionIds
  return out
}
