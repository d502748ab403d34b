// Valid MQTT 5 properties for each place a packet carries them (MQTT 5.0, 2.2.2.2, Table 2-4),
// each encoded on its own with the engine's own encoder, so the mutators can drop, repeat, reorder
// or corrupt one property without re-parsing the block.
import { encodeProperties, type PropertyPlace } from '../../lib/codec/properties'
import { readVarint } from '../../lib/codec/varint'
import type { Random } from './random'

type ValueMaker = (r: Random) => unknown

/** A plausible value for every property, by mqtt-packet's name; a few edge values among them. */
const VALUES: Record<string, ValueMaker> = {
  payloadFormatIndicator: (r) => r.int(0, 1),
  messageExpiryInterval: (r) => r.pick([0, 1, 60, 0xffffffff]),
  contentType: (r) => r.pick(['text/plain', 'application/json', '', 'ü/ñ']),
  responseTopic: (r) => r.pick(['fz/reply', 'fz/r/1']),
  correlationData: (r) => r.bytes(r.int(0, 16)),
  subscriptionIdentifier: (r) => r.pick([1, 127, 128, 16_383, 16_384, 268_435_455]),
  // Short: a persistent session outlives its fuzz connection for this long and holds memory.
  sessionExpiryInterval: (r) => r.pick([0, 2, 30]),
  assignedClientIdentifier: () => 'assigned',
  serverKeepAlive: (r) => r.pick([0, 60]),
  authenticationMethod: (r) => r.pick(['SCRAM-SHA-1', 'fz-method']),
  authenticationData: (r) => r.bytes(r.int(0, 24)),
  requestProblemInformation: (r) => r.int(0, 1),
  willDelayInterval: (r) => r.pick([0, 1, 3]),
  requestResponseInformation: (r) => r.int(0, 1),
  responseInformation: () => 'fz/response',
  serverReference: () => 'other.example:1883',
  reasonString: (r) => r.pick(['because', '']),
  receiveMaximum: (r) => r.pick([1, 10, 65_535]),
  topicAliasMaximum: (r) => r.pick([0, 10, 65_535]),
  topicAlias: (r) => r.int(1, 10),
  maximumQoS: (r) => r.int(0, 1),
  retainAvailable: (r) => r.int(0, 1),
  maximumPacketSize: (r) => r.pick([128, 4096, 268_435_455]),
  wildcardSubscriptionAvailable: (r) => r.int(0, 1),
  subscriptionIdentifiersAvailable: (r) => r.int(0, 1),
  sharedSubscriptionAvailable: (r) => r.int(0, 1)
}

/** What each place may carry, user properties aside (every place may). */
const ALLOWED: Record<PropertyPlace, readonly string[]> = {
  connect: ['sessionExpiryInterval', 'receiveMaximum', 'maximumPacketSize', 'topicAliasMaximum', 'requestResponseInformation', 'requestProblemInformation'],
  will: ['willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData'],
  publish: ['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'contentType'],
  puback: ['reasonString'],
  pubrec: ['reasonString'],
  pubrel: ['reasonString'],
  pubcomp: ['reasonString'],
  subscribe: ['subscriptionIdentifier'],
  unsubscribe: [],
  disconnect: ['sessionExpiryInterval', 'reasonString', 'serverReference'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString'],
  connack: ['sessionExpiryInterval', 'receiveMaximum', 'maximumQoS', 'retainAvailable', 'maximumPacketSize', 'assignedClientIdentifier',
    'topicAliasMaximum', 'reasonString', 'wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable', 'sharedSubscriptionAvailable',
    'serverKeepAlive', 'responseInformation', 'serverReference'],
  suback: ['reasonString'],
  unsuback: ['reasonString']
}

/** Every property name, for a property put where it does not belong. */
const EVERY_NAME = Object.keys(VALUES)

/** One property, encoded: identifier then value, without the block's length. */
export function encodeOne (name: string, value: unknown): Buffer {
  const block = encodeProperties({ [name]: value })
  return block.subarray(readVarint(block, 0, block.length)[1])
}

function userProperty (r: Random): Buffer {
  return encodeOne('userProperties', [[r.pick(['k', 'region', 'ü', '']), r.pick(['v', 'eu-west', 'x'.repeat(r.int(0, 40))])]])
}

/** A random valid selection of the properties `place` may carry, each at most once (user properties repeat). */
export function validProperties (r: Random, place: PropertyPlace): Buffer[] {
  const properties: Buffer[] = []
  for (const name of ALLOWED[place]) {
    if (r.chance(0.4)) properties.push(encodeOne(name, (VALUES[name] as ValueMaker)(r)))
  }
  for (let users = r.chance(0.3) ? r.int(1, 3) : 0; users > 0; users--) properties.push(userProperty(r))
  return properties
}

/** A property of any kind, usually one `place` may not carry; for the mutators. */
export function anyProperty (r: Random): Buffer {
  const name = r.pick(EVERY_NAME)
  return encodeOne(name, (VALUES[name] as ValueMaker)(r))
}
