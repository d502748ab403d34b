// `-D command identifier value` (and `-D command user-property key value`): MQTT 5 properties for
// the packets the tools send, with Mosquitto's names for commands and properties and its checks.
// Types and the packets a property may travel in come from the codec's table (MQTT 5.0, 2.2.2.2).
import { pairsToObject, propertyDefinition } from '../codec/properties'
import { ToolUsageError } from './errors'

/** The packets -D can give properties to. */
export type PropertyCommand = 'connect' | 'publish' | 'subscribe' | 'unsubscribe' | 'disconnect' | 'will'

/** Values by the codec's property name; user properties as ordered pairs. */
export interface PropertyBag {
  values: Record<string, number | string | Buffer>
  userProperties: Array<[string, string]>
}

export type ToolProperties = Record<PropertyCommand, PropertyBag>

/** Mosquitto's property names (mosquitto_string_to_property_info) and their identifiers. */
const IDENTIFIERS: Record<string, number> = {
  'payload-format-indicator': 0x01,
  'message-expiry-interval': 0x02,
  'content-type': 0x03,
  'response-topic': 0x08,
  'correlation-data': 0x09,
  'subscription-identifier': 0x0b,
  'session-expiry-interval': 0x11,
  'assigned-client-identifier': 0x12,
  'server-keep-alive': 0x13,
  'authentication-method': 0x15,
  'authentication-data': 0x16,
  'request-problem-information': 0x17,
  'will-delay-interval': 0x18,
  'request-response-information': 0x19,
  'response-information': 0x1a,
  'server-reference': 0x1c,
  'reason-string': 0x1f,
  'receive-maximum': 0x21,
  'topic-alias-maximum': 0x22,
  'topic-alias': 0x23,
  'maximum-qos': 0x24,
  'retain-available': 0x25,
  'user-property': 0x26,
  'maximum-packet-size': 0x27,
  'wildcard-subscription-available': 0x28,
  'subscription-identifier-available': 0x29,
  'shared-subscription-available': 0x2a
}

const COMMANDS = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'disconnect', 'auth', 'will']
const SETTABLE: readonly string[] = ['connect', 'publish', 'subscribe', 'unsubscribe', 'disconnect', 'will']

/**
 * What Roost's client engine cannot send although MQTT 5 allows it: enhanced authentication,
 * user properties on UNSUBSCRIBE, a server reference in our DISCONNECT.
 */
const NOT_SENT: Record<string, readonly string[]> = {
  connect: ['authenticationMethod', 'authenticationData'],
  unsubscribe: ['userProperties'],
  disconnect: ['serverReference']
}

/** Values MQTT 5 restricts further (MQTT 5.0, 3.1.2.11, 3.3.2.3.2). */
const ONE_OR_ZERO: readonly string[] = ['payloadFormatIndicator', 'requestProblemInformation', 'requestResponseInformation']
const NOT_ZERO: readonly string[] = ['receiveMaximum', 'maximumPacketSize']

const LIMITS: Record<string, number> = { byte: 0xff, u16: 0xffff, u32: 0xffffffff, varint: 268_435_455 }

export function emptyProperties (): ToolProperties {
  const bag = (): PropertyBag => ({ values: {}, userProperties: [] })
  return { connect: bag(), publish: bag(), subscribe: bag(), unsubscribe: bag(), disconnect: bag(), will: bag() }
}

/** C's atol: leading blanks, a sign and digits; anything else reads as 0. */
function atol (text: string): number {
  const match = /^\s*([+-]?\d+)/.exec(text)
  return match?.[1] === undefined ? 0 : Number(match[1])
}

/**
 * Reads one -D from `args` at `index` (the word after -D) into `properties`; returns how many
 * words it used. Throws ToolUsageError with Mosquitto's message for a bad one.
 */
export function parseProperty (args: readonly string[], index: number, properties: ToolProperties): number {
  const [commandName, propertyName] = [args[index], args[index + 1]]
  if (commandName === undefined || propertyName === undefined || args[index + 2] === undefined) {
    throw new ToolUsageError('Error: --property argument given but not enough arguments specified.')
  }
  const command = commandName.toLowerCase()
  if (!COMMANDS.includes(command)) throw new ToolUsageError('Error: Invalid command given in --property argument.')
  const id = IDENTIFIERS[propertyName.toLowerCase()]
  const definition = id === undefined ? undefined : propertyDefinition(id)
  if (definition === undefined) throw new ToolUsageError('Error: Invalid property name given in --property argument.')
  if (!(definition.places as readonly string[]).includes(command)) {
    throw new ToolUsageError(`Error: ${propertyName} property not allowed for ${commandName} in --property argument.`)
  }
  const notSupported = (): never => { throw new ToolUsageError(`Error: ${propertyName} property not supported for ${commandName} in --property argument.`) }
  if (!SETTABLE.includes(command) || NOT_SENT[command]?.includes(definition.name) === true) notSupported()
  if (command === 'publish' && definition.name === 'subscriptionIdentifier') notSupported()
  if (command === 'subscribe' && definition.name !== 'subscriptionIdentifier' && definition.name !== 'userProperties') notSupported()
  const bag = properties[command as PropertyCommand]
  if (definition.type === 'pair') {
    const [key, value] = [args[index + 2], args[index + 3]]
    if (key === undefined || value === undefined) throw new ToolUsageError('Error: --property argument given but not enough arguments specified.')
    bag.userProperties.push([key, value])
    return 4
  }
  const text = args[index + 2] as string
  // mosquitto_property_check_all: one of each property, besides user properties.
  if (bag.values[definition.name] !== undefined) {
    throw new ToolUsageError(`Error in ${command.toUpperCase()} properties: Duplicate property in property list`)
  }
  const limit = LIMITS[definition.type]
  if (limit !== undefined) {
    const value = atol(text)
    // A subscription identifier of 0 is a protocol error [MQTT-3.8.2.1.2].
    if (value < 0 || value > limit || (definition.name === 'subscriptionIdentifier' && value === 0)) {
      throw new ToolUsageError(`Error: Property value (${value}) out of range for property ${propertyName}.`)
    }
    if ((ONE_OR_ZERO.includes(definition.name) && value > 1) || (NOT_ZERO.includes(definition.name) && value === 0)) {
      throw new ToolUsageError(`Error in ${command.toUpperCase()} properties: A network protocol error occurred when communicating with the broker.`)
    }
    bag.values[definition.name] = value
  } else if (definition.type === 'binary') {
    const bytes = Buffer.from(text, 'utf8')
    if (bytes.length > 0xffff) throw new ToolUsageError(`Error: Property value too long for property ${propertyName}.`)
    bag.values[definition.name] = bytes
  } else {
    bag.values[definition.name] = text
  }
  return 3
}

/** User properties as the client engine takes them: one value, or several in order. */
export function userPropertyObject (pairs: Array<[string, string]>): Record<string, string | string[]> | undefined {
  return pairs.length === 0 ? undefined : pairsToObject(pairs)
}
