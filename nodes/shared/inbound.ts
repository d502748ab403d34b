// Turns a delivered MQTT message into a Node-RED msg, with the output types and msg fields of
// Node-RED's core `mqtt in` node, so a flow can switch between the two without changes.
import { isUtf8 } from 'node:buffer'
import type { NodeMessage } from './red'
import type { TransportMessage } from './transport'

export type OutputType = 'auto-detect' | 'utf8' | 'buffer' | 'json' | 'base64'
export const OUTPUT_TYPES: readonly OutputType[] = ['auto-detect', 'utf8', 'buffer', 'json', 'base64']

/** MQTT 5 content types whose meaning is clear enough to pick the output type from. */
const MEDIA_TYPE_OUTPUT: Readonly<Record<string, 'string' | 'buffer' | 'json'>> = {
  'application/json': 'json',
  'text/plain': 'string',
  'text/html': 'string',
  'text/css': 'string',
  'application/xml': 'string',
  'application/octet-stream': 'buffer',
  'application/pdf': 'buffer',
  'application/zip': 'buffer',
  'application/x-gzip': 'buffer',
  'image/png': 'buffer',
  'image/jpeg': 'buffer',
  'image/gif': 'buffer'
}

export function isOutputType (value: unknown): value is OutputType {
  return typeof value === 'string' && (OUTPUT_TYPES as readonly string[]).includes(value)
}

/** Why a message could not be converted: each is a locale key below `roost-in.errors.`. */
export const INBOUND_ERROR_KEYS = ['invalid-json-parse', 'invalid-json-string'] as const

/** The result: a msg, or the reason it could not be converted (with the raw msg for node.error). */
export type InboundResult = { msg: NodeMessage } | { error: typeof INBOUND_ERROR_KEYS[number], msg: NodeMessage }

export function toNodeMessage (message: TransportMessage, outputType: OutputType): InboundResult {
  const msg: NodeMessage = { topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain }
  const properties = message.properties
  if (properties !== undefined) {
    if (properties.contentType !== undefined) msg.contentType = properties.contentType
    if (properties.responseTopic !== undefined) msg.responseTopic = properties.responseTopic
    if (properties.correlationData !== undefined) msg.correlationData = properties.correlationData
    if (properties.messageExpiryInterval !== undefined) msg.messageExpiryInterval = properties.messageExpiryInterval
    if (properties.payloadFormatIndicator !== undefined) msg.payloadFormatIndicator = properties.payloadFormatIndicator
    // A plain copy: decoders hand out null-prototype objects, which surprise flow code.
    if (properties.userProperties !== undefined) msg.userProperties = { ...properties.userProperties }
  }
  const payload = message.payload
  switch (outputType) {
    case 'buffer':
      return { msg }
    case 'base64':
      msg.payload = payload.toString('base64')
      return { msg }
    case 'utf8':
      msg.payload = payload.toString('utf8')
      return { msg }
    case 'json':
      if (properties?.payloadFormatIndicator !== true && !isUtf8(payload)) return { error: 'invalid-json-string', msg }
      try {
        msg.payload = JSON.parse(payload.toString('utf8'))
      } catch {
        return { error: 'invalid-json-parse', msg }
      }
      return { msg }
    case 'auto-detect':
      return autoDetect(msg, payload, properties?.contentType, properties?.payloadFormatIndicator === true)
  }
}

function autoDetect (msg: NodeMessage, payload: Buffer, contentType: string | undefined, declaredUtf8: boolean): InboundResult {
  const declared = contentType === undefined ? undefined : MEDIA_TYPE_OUTPUT[contentType.toLowerCase()]
  if (declared === 'buffer') return { msg }
  if (declared === 'string') {
    msg.payload = payload.toString('utf8')
    return { msg }
  }
  if (declared === 'json') {
    // The sender promised JSON: text that does not parse is an error, not a string.
    try {
      msg.payload = JSON.parse(payload.toString('utf8'))
    } catch {
      return { error: 'invalid-json-parse', msg }
    }
    return { msg }
  }
  if (!declaredUtf8 && !isUtf8(payload)) return { msg }
  const text = payload.toString('utf8')
  msg.payload = text
  try {
    msg.payload = JSON.parse(text)
  } catch {
    // Not JSON: the text itself is the payload.
  }
  return { msg }
}
