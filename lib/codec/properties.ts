// MQTT 5 properties (MQTT 5.0, 2.2.2): one table of identifiers, types and the packets each may
// appear in, a reader that rejects duplicates and misplaced properties, and a writer. User
// properties keep their order as ordered pairs [MQTT-3.3.2-17]; mqtt-packet folds them into an
// object and loses the order of interleaved names, so PUBLISH properties go through this code.
import { isUtf8 } from 'node:buffer'
import { ProtocolError, ReasonCode } from '../errors'
import { readVarint, varintLength, writeVarint } from './varint'

export type PropertyType = 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair'

/** Where a property may appear: packet names as mqtt-packet spells them, plus 'will'. */
export type PropertyPlace = 'connect' | 'connack' | 'publish' | 'will' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' |
'subscribe' | 'suback' | 'unsubscribe' | 'unsuback' | 'disconnect' | 'auth'

interface PropertyDefinition {
  id: number
  name: string
  type: PropertyType
  places: readonly PropertyPlace[]
}

const ACKS: readonly PropertyPlace[] = ['puback', 'pubrec', 'pubrel', 'pubcomp']
const EVERYWHERE: readonly PropertyPlace[] = ['connect', 'connack', 'publish', 'will', ...ACKS, 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'disconnect', 'auth']

/** MQTT 5.0, 2.2.2.2, Table 2-4. */
const DEFINITIONS: PropertyDefinition[] = [
  { id: 0x01, name: 'payloadFormatIndicator', type: 'byte', places: ['publish', 'will'] },
  { id: 0x02, name: 'messageExpiryInterval', type: 'u32', places: ['publish', 'will'] },
  { id: 0x03, name: 'contentType', type: 'string', places: ['publish', 'will'] },
  { id: 0x08, name: 'responseTopic', type: 'string', places: ['publish', 'will'] },
  { id: 0x09, name: 'correlationData', type: 'binary', places: ['publish', 'will'] },
  { id: 0x0b, name: 'subscriptionIdentifier', type: 'varint', places: ['publish', 'subscribe'] },
  { id: 0x11, name: 'sessionExpiryInterval', type: 'u32', places: ['connect', 'connack', 'disconnect'] },
  { id: 0x12, name: 'assignedClientIdentifier', type: 'string', places: ['connack'] },
  { id: 0x13, name: 'serverKeepAlive', type: 'u16', places: ['connack'] },
  { id: 0x15, name: 'authenticationMethod', type: 'string', places: ['connect', 'connack', 'auth'] },
  { id: 0x16, name: 'authenticationData', type: 'binary', places: ['connect', 'connack', 'auth'] },
  { id: 0x17, name: 'requestProblemInformation', type: 'byte', places: ['connect'] },
  { id: 0x18, name: 'willDelayInterval', type: 'u32', places: ['will'] },
  { id: 0x19, name: 'requestResponseInformation', type: 'byte', places: ['connect'] },
  { id: 0x1a, name: 'responseInformation', type: 'string', places: ['connack'] },
  { id: 0x1c, name: 'serverReference', type: 'string', places: ['connack', 'disconnect'] },
  { id: 0x1f, name: 'reasonString', type: 'string', places: ['connack', ...ACKS, 'suback', 'unsuback', 'disconnect', 'auth'] },
  { id: 0x21, name: 'receiveMaximum', type: 'u16', places: ['connect', 'connack'] },
  { id: 0x22, name: 'topicAliasMaximum', type: 'u16', places: ['connect', 'connack'] },
  { id: 0x23, name: 'topicAlias', type: 'u16', places: ['publish'] },
  { id: 0x24, name: 'maximumQoS', type: 'byte', places: ['connack'] },
  { id: 0x25, name: 'retainAvailable', type: 'byte', places: ['connack'] },
  { id: 0x26, name: 'userProperties', type: 'pair', places: EVERYWHERE },
  { id: 0x27, name: 'maximumPacketSize', type: 'u32', places: ['connect', 'connack'] },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', type: 'byte', places: ['connack'] },
  { id: 0x29, name: 'subscriptionIdentifiersAvailable', type: 'byte', places: ['connack'] },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', type: 'byte', places: ['connack'] }
]

const BY_ID = new Map<number, PropertyDefinition>(DEFINITIONS.map((d) => [d.id, d]))
const BY_NAME = new Map<string, PropertyDefinition>(DEFINITIONS.map((d) => [d.name, d]))

/** The name (as mqtt-packet spells it), type and places of a property identifier. */
export function propertyDefinition (id: number): Readonly<PropertyDefinition> | undefined {
  return BY_ID.get(id)
}

/**
 * User properties one packet may carry. MQTT 5 sets no number, only the packet size; but each costs
 * objects and time to decode, and a 2 MB packet of empty pairs (some 400,000) would hold the event
 * loop, and every other client, for most of a second. Far beyond any real use, small enough that the
 * worst packet decodes in milliseconds. Over it, the packet is refused with 0x83 Implementation
 * specific error, which CONNACK and DISCONNECT both allow (MQTT 5.0, 3.2.2.2 and 3.14.2.1).
 */
export const MAX_USER_PROPERTIES_PER_PACKET = 8192

/** Properties as read: values by name, user properties as ordered pairs. */
export interface PropertyValues {
  values: Record<string, unknown>
  userProperties?: Array<[string, string]>
  /** Subscription identifiers, which may repeat in a PUBLISH sent by a server. */
  subscriptionIdentifiers?: number[]
}

function readString (buffer: Buffer, offset: number, end: number, what: string): [string, number] {
  const [bytes, next] = readBinary(buffer, offset, end, what)
  // [MQTT-1.5.4-1] UTF-8 strings must be well formed; [MQTT-1.5.4-2] no U+0000
  if (!isUtf8(bytes)) throw new ProtocolError(ReasonCode.MalformedPacket, `${what} is not valid UTF-8`)
  const text = bytes.toString('utf8')
  if (text.includes('\u0000')) throw new ProtocolError(ReasonCode.MalformedPacket, `${what} contains U+0000`)
  return [text, next]
}

function readBinary (buffer: Buffer, offset: number, end: number, what: string): [Buffer, number] {
  if (offset + 2 > end) throw new ProtocolError(ReasonCode.MalformedPacket, `${what} runs past the packet`)
  const length = buffer.readUInt16BE(offset)
  const start = offset + 2
  if (start + length > end) throw new ProtocolError(ReasonCode.MalformedPacket, `${what} runs past the packet`)
  return [buffer.subarray(start, start + length), start + length]
}

/**
 * Reads a property block (length + properties) at `offset` for the given place.
 * Returns the values and the offset after the block. Throws ProtocolError on a property that is
 * unknown, repeated, or not allowed there (MQTT 5.0, 2.2.2.2).
 */
export function readProperties (buffer: Buffer, offset: number, end: number, place: PropertyPlace): [PropertyValues, number] {
  const [length, start] = readVarint(buffer, offset, end)
  const blockEnd = start + length
  if (blockEnd > end) throw new ProtocolError(ReasonCode.MalformedPacket, 'properties run past the packet')
  const result: PropertyValues = { values: {} }
  let position = start
  while (position < blockEnd) {
    const [id, afterId] = readVarint(buffer, position, blockEnd)
    const definition = BY_ID.get(id)
    if (definition === undefined) throw new ProtocolError(ReasonCode.MalformedPacket, `unknown property 0x${id.toString(16)}`)
    if (!definition.places.includes(place)) {
      throw new ProtocolError(ReasonCode.MalformedPacket, `property ${definition.name} is not allowed in ${place.toUpperCase()}`)
    }
    position = afterId
    const what = definition.name
    let value: unknown
    switch (definition.type) {
      case 'byte':
        if (position + 1 > blockEnd) throw new ProtocolError(ReasonCode.MalformedPacket, `${what} runs past the packet`)
        value = buffer[position]
        position += 1
        break
      case 'u16':
        if (position + 2 > blockEnd) throw new ProtocolError(ReasonCode.MalformedPacket, `${what} runs past the packet`)
        value = buffer.readUInt16BE(position)
        position += 2
        break
      case 'u32':
        if (position + 4 > blockEnd) throw new ProtocolError(ReasonCode.MalformedPacket, `${what} runs past the packet`)
        value = buffer.readUInt32BE(position)
        position += 4
        break
      case 'varint':
        ;[value, position] = readVarint(buffer, position, blockEnd)
        break
      case 'string':
        ;[value, position] = readString(buffer, position, blockEnd, what)
        break
      case 'binary': {
        const [bytes, next] = readBinary(buffer, position, blockEnd, what)
        value = Buffer.from(bytes)
        position = next
        break
      }
      case 'pair': {
        if (result.userProperties !== undefined && result.userProperties.length >= MAX_USER_PROPERTIES_PER_PACKET) {
          throw new ProtocolError(ReasonCode.ImplementationSpecificError, `more than ${MAX_USER_PROPERTIES_PER_PACKET} user properties in one packet`)
        }
        const [name, afterName] = readString(buffer, position, blockEnd, 'user property name')
        const [text, afterValue] = readString(buffer, afterName, blockEnd, 'user property value')
        position = afterValue
        ;(result.userProperties ??= []).push([name, text])
        continue
      }
    }
    if (definition.id === 0x0b && place === 'publish') {
      ;(result.subscriptionIdentifiers ??= []).push(value as number)
      continue
    }
    // [MQTT-2.2.2-?] "It is a Protocol Error to include a property more than once" (2.2.2.2)
    if (Object.prototype.hasOwnProperty.call(result.values, definition.name)) {
      throw new ProtocolError(ReasonCode.ProtocolError, `property ${definition.name} appears more than once`)
    }
    result.values[definition.name] = value
  }
  return [result, blockEnd]
}

/** Converts ordered pairs into the object shape of mqtt-packet and Node-RED (repeated names → arrays). */
export function pairsToObject (pairs: Array<[string, string]>): Record<string, string | string[]> {
  const object: Record<string, string | string[]> = {}
  for (const [name, value] of pairs) {
    const existing = object[name]
    if (existing === undefined) object[name] = value
    else if (Array.isArray(existing)) existing.push(value)
    else object[name] = [existing, value]
  }
  return object
}

/** The reverse: an object of user properties as ordered pairs (arrays expand in order). */
export function objectToPairs (object: Record<string, string | string[] | number | boolean>): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (const [name, value] of Object.entries(object)) {
    if (Array.isArray(value)) for (const item of value) pairs.push([name, String(item)])
    else pairs.push([name, String(value)])
  }
  return pairs
}

/** Values to write: by name as in the table; userProperties as pairs or as an object. */
export type PropertiesToWrite = Record<string, unknown>

function encodedLength (definition: PropertyDefinition, value: unknown): number {
  const idBytes = 1
  switch (definition.type) {
    case 'byte': return idBytes + 1
    case 'u16': return idBytes + 2
    case 'u32': return idBytes + 4
    case 'varint': return idBytes + varintLength(value as number)
    case 'string': return idBytes + 2 + Buffer.byteLength(value as string)
    case 'binary': return idBytes + 2 + (value as Buffer).length
    case 'pair': {
      const [name, text] = value as [string, string]
      return idBytes + 4 + Buffer.byteLength(name) + Buffer.byteLength(text)
    }
  }
}

function expand (properties: PropertiesToWrite): Array<[PropertyDefinition, unknown]> {
  const entries: Array<[PropertyDefinition, unknown]> = []
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined) continue
    const definition = BY_NAME.get(name)
    if (definition === undefined) throw new Error(`unknown MQTT 5 property "${name}"`)
    if (definition.type === 'pair') {
      const pairs = Array.isArray(value) ? value as Array<[string, string]> : objectToPairs(value as Record<string, string | string[]>)
      for (const pair of pairs) entries.push([definition, pair])
    } else if (definition.id === 0x0b && Array.isArray(value)) {
      for (const id of value as number[]) entries.push([definition, id])
    } else {
      let plain = value
      if (typeof plain === 'boolean') plain = plain ? 1 : 0
      if (definition.type === 'binary' && !Buffer.isBuffer(plain)) plain = Buffer.from(String(plain))
      entries.push([definition, plain])
    }
  }
  return entries
}

/** Encodes a property block: its length as a Variable Byte Integer, then each property. */
export function encodeProperties (properties: PropertiesToWrite | undefined): Buffer {
  const entries = properties === undefined ? [] : expand(properties)
  let length = 0
  for (const [definition, value] of entries) length += encodedLength(definition, value)
  const block = Buffer.allocUnsafe(varintLength(length) + length)
  let position = writeVarint(block, 0, length)
  for (const [definition, value] of entries) {
    block[position++] = definition.id
    switch (definition.type) {
      case 'byte': block[position++] = value as number; break
      case 'u16': block.writeUInt16BE(value as number, position); position += 2; break
      case 'u32': block.writeUInt32BE(value as number, position); position += 4; break
      case 'varint': position = writeVarint(block, position, value as number); break
      case 'string': position = writeLengthPrefixed(block, position, value as string); break
      case 'binary': {
        const bytes = value as Buffer
        block.writeUInt16BE(bytes.length, position)
        bytes.copy(block, position + 2)
        position += 2 + bytes.length
        break
      }
      case 'pair': {
        const [name, text] = value as [string, string]
        position = writeLengthPrefixed(block, position, name)
        position = writeLengthPrefixed(block, position, text)
        break
      }
    }
  }
  return block
}

function writeLengthPrefixed (buffer: Buffer, offset: number, text: string): number {
  const written = buffer.write(text, offset + 2, 'utf8')
  buffer.writeUInt16BE(written, offset)
  return offset + 2 + written
}
