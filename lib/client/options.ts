// Client options: one interface with a line per field, typed DEFAULTS, and one resolveClientOptions()
// that validates and fills in, so a bad value fails at createClient() rather than on the wire.
import { randomBytes } from 'node:crypto'
import type { ConnectionOptions } from 'node:tls'
import type { Logger } from '../logger'
import { MQTT_MAX_PACKET_BYTES } from '../options'
import { topicNameProblem } from '../topics/validate'
import type { ProtocolVersion, PublishProperties, QoS } from '../types'
import type { EnhancedAuthOptions } from './enhanced-auth'
import { ClientError } from './errors'

/** The Last Will the server publishes if this client vanishes without DISCONNECT [MQTT-3.1.2-8]. */
export interface WillOptions {
  topic: string
  payload?: Buffer | string
  qos?: QoS
  retain?: boolean
  /** MQTT 5 will properties, willDelayInterval included. */
  properties?: PublishProperties & { willDelayInterval?: number }
}

/** MQTT 5 CONNECT properties (MQTT 5.0, 3.1.2.11). */
export interface ConnectProperties {
  /** Seconds the server keeps the session after the connection ends; 0xFFFFFFFF = forever. */
  sessionExpiryInterval?: number
  /** QoS 1/2 messages the server may have unacknowledged towards us at once. */
  receiveMaximum?: number
  /** Largest packet we accept, in bytes. */
  maximumPacketSize?: number
  /** Highest topic alias the server may use towards us; 0 or unset: none. */
  topicAliasMaximum?: number
  requestResponseInformation?: boolean
  requestProblemInformation?: boolean
  userProperties?: Record<string, string | string[]>
}

export interface ClientOptions {
  /** Host name or address of the broker. */
  host: string
  /** TCP port of the broker (1883, or 8883 for TLS by convention). */
  port: number
  /** When set, the connection uses TLS with these settings (ca, cert, key, rejectUnauthorized, servername). */
  tls?: ConnectionOptions
  /** Client identifier; a random `roost_xxxxxxxx` when unset. */
  clientId: string
  username?: string
  password?: Buffer | string
  /** Seconds between control packets at most; PINGREQ fills the silence. 0 turns keepalive off. */
  keepaliveSec: number
  /** Clean session (3.1.1) / clean start (5): begin with no session state on the server. */
  cleanSession: boolean
  /** 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
  protocolVersion: ProtocolVersion
  will?: WillOptions
  /** First delay before reconnecting, doubled after each failure; 0 turns reconnecting off. */
  reconnectPeriodMs: number
  /** The longest delay between attempts. */
  reconnectMaxMs: number
  /** How long opening the socket, TLS and CONNACK may take together. */
  connectTimeoutMs: number
  /** How long to wait for PINGRESP before the connection counts as dead; 0 = one keepalive. */
  pingTimeoutMs: number
  /** QoS 1/2 messages held while offline or while the send window is full; 0 for no limit. */
  maxQueuedMessages: number
  /** QoS 1/2 messages unacknowledged at once; the server's receive maximum lowers it (MQTT 5). */
  maxInflightMessages: number
  /** Largest packet we send, in bytes; the server's maximum packet size lowers it (MQTT 5). */
  maxPacketBytes: number
  /** MQTT 5: give repeated topics an alias when the server allows aliases. */
  useTopicAliases: boolean
  /** MQTT 5 CONNECT properties. */
  properties?: ConnectProperties
  /** MQTT 5 enhanced authentication (MQTT 5.0, 4.12): the method, and the callback that answers each AUTH challenge. */
  enhancedAuth?: EnhancedAuthOptions
  /** Mark CONNECT as a bridge's (try_private: bit 7 of the MQTT 3.1/3.1.1 protocol level), for servers that know it. */
  bridgeMarker?: boolean
  /** Chooses the server for each connection attempt (a bridge's several addresses); host and port when unset. */
  pickAddress?: () => { host: string, port: number }
  /** The delay before reconnect attempt `attempt` (1, 2, ...), instead of doubling reconnectPeriodMs. */
  reconnectDelayMs?: (attempt: number) => number
  logger?: Logger
}

export const CLIENT_DEFAULTS = {
  port: 1883,
  keepaliveSec: 60,
  cleanSession: true,
  protocolVersion: 4 as ProtocolVersion,
  reconnectPeriodMs: 1000,
  reconnectMaxMs: 30_000,
  connectTimeoutMs: 30_000,
  pingTimeoutMs: 0,
  maxQueuedMessages: 1000,
  maxInflightMessages: 65_535,
  maxPacketBytes: MQTT_MAX_PACKET_BYTES,
  useTopicAliases: false
} as const

export type ClientOptionsInput = Partial<ClientOptions> & { host: string }

function fail (message: string): never {
  throw new ClientError('INVALID_OPTIONS', message)
}

function integer (name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be an integer from ${min} to ${max}, not ${String(value)}`)
  return value
}

export function resolveClientOptions (input: ClientOptionsInput): ClientOptions {
  if (typeof input.host !== 'string' || input.host === '') fail('host is required')
  const options: ClientOptions = {
    ...CLIENT_DEFAULTS,
    clientId: `roost_${randomBytes(4).toString('hex')}`,
    ...Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
  } as ClientOptions
  integer('port', options.port, 1, 65535)
  integer('keepaliveSec', options.keepaliveSec, 0, 65535)
  integer('reconnectPeriodMs', options.reconnectPeriodMs, 0, 2 ** 31 - 1)
  integer('reconnectMaxMs', options.reconnectMaxMs, 0, 2 ** 31 - 1)
  integer('connectTimeoutMs', options.connectTimeoutMs, 1, 2 ** 31 - 1)
  integer('pingTimeoutMs', options.pingTimeoutMs, 0, 2 ** 31 - 1)
  integer('maxQueuedMessages', options.maxQueuedMessages, 0, 2 ** 31 - 1)
  integer('maxInflightMessages', options.maxInflightMessages, 1, 65535)
  integer('maxPacketBytes', options.maxPacketBytes, 2, MQTT_MAX_PACKET_BYTES + 5)
  if (options.protocolVersion !== 3 && options.protocolVersion !== 4 && options.protocolVersion !== 5) {
    fail(`protocolVersion must be 3, 4 or 5, not ${String(options.protocolVersion)}`)
  }
  if (typeof options.clientId !== 'string') fail('clientId must be a string')
  // [MQTT-3.1.3-7] an empty client id needs clean session; MQTT 3.1 has no empty ids at all
  if (options.clientId === '' && (options.protocolVersion === 3 || (!options.cleanSession && options.protocolVersion === 4))) {
    fail('an empty clientId needs MQTT 3.1.1 with cleanSession, or MQTT 5')
  }
  if (options.password !== undefined && options.username === undefined && options.protocolVersion !== 5) {
    // [MQTT-3.1.2-22] before MQTT 5 a password needs a username
    fail('a password needs a username before MQTT 5')
  }
  const will = options.will
  if (will !== undefined) {
    const problem = topicNameProblem(will.topic)
    if (problem !== undefined) fail(`will topic "${will.topic}" ${problem}`)
    if (will.qos !== undefined && will.qos !== 0 && will.qos !== 1 && will.qos !== 2) fail('will qos must be 0, 1 or 2')
  }
  const auth = options.enhancedAuth
  if (auth !== undefined) {
    // AUTH and the Authentication Method exist from MQTT 5 on (MQTT 5.0, 3.15).
    if (options.protocolVersion !== 5) fail('enhancedAuth needs protocolVersion 5')
    if (typeof auth.method !== 'string' || auth.method === '') fail('enhancedAuth.method must be a non-empty string')
    if (typeof auth.onChallenge !== 'function') fail('enhancedAuth.onChallenge must be a function')
  }
  const properties = options.properties
  if (properties !== undefined) {
    if (properties.receiveMaximum !== undefined) integer('properties.receiveMaximum', properties.receiveMaximum, 1, 65535)
    if (properties.topicAliasMaximum !== undefined) integer('properties.topicAliasMaximum', properties.topicAliasMaximum, 0, 65535)
    if (properties.maximumPacketSize !== undefined) integer('properties.maximumPacketSize', properties.maximumPacketSize, 1, 2 ** 32 - 1)
    if (properties.sessionExpiryInterval !== undefined) integer('properties.sessionExpiryInterval', properties.sessionExpiryInterval, 0, 2 ** 32 - 1)
  }
  return options
}
