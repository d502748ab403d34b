// msg.broker of a `connect` action: the connection settings a flow may change before (re)connecting
// a remote broker, under the names core `mqtt in`/`mqtt out` read (Node-RED's 10-mqtt.js
// setOptions). Every value is checked before anything changes, so a bad one loses nothing.
import { topicNameProblem } from '../../lib'
import type { ClientOptions, ClientWill } from './client-api'
import { ConnectionActionError } from './errors'
import { encodePayload, parseQos } from './outbound'
import type { TransportMessage } from './transport'

/** What a remote connection is made with; the connect action replaces it as a whole. */
export interface RemoteSettings {
  client: ClientOptions
  /** Published on every connect. */
  birth?: TransportMessage
  /** Published before the connection ends on purpose. */
  close?: TransportMessage
}

/** MQTT 5 CONNECT properties msg.broker may set, with their ranges (MQTT 5.0, 3.1.2.11.3 to 3.1.2.11.5). */
const CONNECT_LIMITS: Readonly<Record<string, readonly [number, number]>> = {
  receiveMaximum: [1, 65535],
  maximumPacketSize: [1, 0xffffffff],
  topicAliasMaximum: [0, 65535]
}

const PLAIN_SCHEMES = new Set(['mqtt:', 'tcp:'])
const TLS_SCHEMES = new Set(['mqtts:', 'ssl:', 'tls:'])

function invalid (option: string, value: unknown): never {
  throw new ConnectionActionError('invalid-option', { option, value: typeof value === 'string' ? value : JSON.stringify(value) ?? String(value) })
}

function has (broker: Readonly<Record<string, unknown>>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(broker, key) && broker[key] !== undefined
}

function integer (option: string, value: unknown, min: number, max: number): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) invalid(option, value)
  return number
}

function boolean (option: string, value: unknown): boolean {
  if (value === true || value === 'true') return true
  if (value === false || value === 'false') return false
  return invalid(option, value)
}

function text (option: string, value: unknown): string {
  if (typeof value !== 'string') invalid(option, value)
  return value
}

/** `mqtt://host:port` (or mqtts, tcp, ssl, tls): host, port and whether TLS is on. */
function fromUrl (option: string, value: unknown, client: ClientOptions): void {
  let url: URL
  try {
    url = new URL(text(option, value))
  } catch {
    return invalid(option, value)
  }
  const tls = TLS_SCHEMES.has(url.protocol)
  // MQTT over WebSockets is not something the engine's client speaks.
  if (!tls && !PLAIN_SCHEMES.has(url.protocol)) invalid(option, value)
  if (url.hostname === '') invalid(option, value)
  client.host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  client.port = url.port === '' ? (tls ? 8883 : 1883) : Number(url.port)
  if (tls) client.tls ??= {}
  else delete client.tls
  if (url.username !== '') client.username = decodeURIComponent(url.username)
  if (url.password !== '') client.password = decodeURIComponent(url.password)
}

/** A birth, close or will message given as {topic, payload, qos, retain}; anything else removes it (as in core). */
function message (option: string, value: unknown): TransportMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const source = value as Record<string, unknown>
  if (source.topic === undefined || source.topic === '') return undefined
  const topic = text(`${option}.topic`, source.topic)
  // [MQTT-3.3.2-2] a topic name carries no wildcards, and the will's alike [MQTT-3.1.3-11]
  if (topicNameProblem(topic) !== undefined) invalid(`${option}.topic`, topic)
  const qos = source.qos === undefined || source.qos === '' ? 0 : parseQos(source.qos)
  if (qos === undefined) invalid(`${option}.qos`, source.qos)
  const result: TransportMessage = { topic, payload: encodePayload(source.payload ?? ''), qos, retain: source.retain === true || source.retain === 'true' }
  if (typeof source.properties === 'object' && source.properties !== null) result.properties = { ...source.properties }
  return result
}

/** The settings with msg.broker applied; throws ConnectionActionError('invalid-option') and changes nothing on a bad value. */
export function applyBrokerOverrides (settings: RemoteSettings, broker: Readonly<Record<string, unknown>>): RemoteSettings {
  const client: ClientOptions = { ...settings.client }
  if (client.tls !== undefined) client.tls = { ...client.tls }
  const next: RemoteSettings = { ...settings, client }
  if (has(broker, 'broker')) {
    const value = text('broker', broker.broker).trim()
    if (value === '') invalid('broker', broker.broker)
    if (value.includes('://')) fromUrl('broker', value, client)
    else client.host = value
  }
  if (has(broker, 'port')) client.port = integer('port', broker.port, 1, 65535)
  // url wins over broker and port, as it does in core `mqtt-broker`.
  if (has(broker, 'url') && broker.url !== '') fromUrl('url', broker.url, client)
  if (has(broker, 'usetls')) {
    if (boolean('usetls', broker.usetls)) client.tls ??= {}
    else delete client.tls
  }
  if (has(broker, 'verifyservercert')) {
    const verify = boolean('verifyservercert', broker.verifyservercert)
    if (client.tls !== undefined) client.tls.rejectUnauthorized = verify
  }
  if (has(broker, 'clientid')) {
    const id = text('clientid', broker.clientid).trim()
    if (id === '') delete client.clientId
    else client.clientId = id
  }
  if (has(broker, 'username')) client.username = text('username', broker.username)
  if (has(broker, 'password')) client.password = text('password', broker.password)
  if (client.username === '') delete client.username
  if (client.password === '') delete client.password
  if (has(broker, 'keepalive')) client.keepaliveSec = integer('keepalive', broker.keepalive, 0, 65535)
  if (has(broker, 'cleansession')) client.cleanSession = boolean('cleansession', broker.cleansession)
  if (has(broker, 'protocolVersion')) {
    const version = integer('protocolVersion', broker.protocolVersion, 3, 5)
    client.protocolVersion = version as 3 | 4 | 5
  }
  const expiryKey = has(broker, 'sessionExpiry') ? 'sessionExpiry' : has(broker, 'sessionExpiryInterval') ? 'sessionExpiryInterval' : undefined
  const userKey = has(broker, 'userProperties') ? 'userProperties' : has(broker, 'userProps') ? 'userProps' : undefined
  const limits = Object.keys(CONNECT_LIMITS).filter((key) => has(broker, key))
  if (expiryKey !== undefined || userKey !== undefined || limits.length > 0) {
    const properties: Record<string, unknown> = { ...client.properties }
    // MQTT 5.0, 3.1.2.11.2: the Session Expiry Interval is a four byte integer
    if (expiryKey !== undefined) properties.sessionExpiryInterval = integer(expiryKey, broker[expiryKey], 0, 0xffffffff)
    for (const key of limits) {
      const [min, max] = CONNECT_LIMITS[key] as [number, number]
      properties[key] = integer(key, broker[key], min, max)
    }
    if (userKey !== undefined) {
      const user = typeof broker[userKey] === 'string' ? parseJsonObject(userKey, broker[userKey]) : broker[userKey]
      if (typeof user !== 'object' || user === null || Array.isArray(user)) invalid(userKey, broker[userKey])
      properties.userProperties = user
    }
    client.properties = properties
  }
  if (has(broker, 'birth')) setOrDelete(next, 'birth', message('birth', broker.birth))
  if (has(broker, 'close')) setOrDelete(next, 'close', message('close', broker.close))
  if (has(broker, 'will')) {
    const will: ClientWill | undefined = message('will', broker.will)
    if (will === undefined) delete client.will
    else client.will = will
  }
  return next
}

function parseJsonObject (option: string, value: unknown): unknown {
  try {
    return JSON.parse(String(value))
  } catch {
    return invalid(option, value)
  }
}

function setOrDelete (settings: RemoteSettings, key: 'birth' | 'close', value: TransportMessage | undefined): void {
  if (value === undefined) delete settings[key]
  else settings[key] = value
}
