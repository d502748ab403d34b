// The roost-broker dialog's Bridges tab, turned into BrokerOptions.bridges: one row per bridge in
// the flow JSON, the remote user names and passwords in the node's credentials (keyed by bridge
// name, so no secret is ever in a flow export), TLS from a tls-config node. The engine's schema
// and checkBridges() then judge the result as they judge a mosquitto.conf `connection` section.
import { createPrivateKey } from 'node:crypto'
import type { BridgeDirection, BridgeOptions, BridgeProtocol, BridgeStartType, BridgeTlsOptions, BridgeTopic } from '../../lib/bridge/options'
import type { QoS } from '../../lib/types'
import { readBool, readString } from '../shared/config'
import { DialogError, type TlsLookup } from './security'

/** A topic row as the dialog saves it. */
export interface BridgeTopicRow {
  pattern?: string
  direction?: string
  qos?: string | number
  localPrefix?: string
  remotePrefix?: string
}

/** A bridge as the dialog saves it in the node's `bridges` list. */
export interface BridgeRow {
  name?: string
  /** Space-separated host[:port] list. */
  addresses?: string
  remoteClientId?: string
  /** Id of a tls-config node; empty for plain TCP. */
  tls?: string
  protocolVersion?: string
  cleanSession?: boolean | string
  keepalive?: string | number
  startType?: string
  tryPrivate?: boolean | string
  notifications?: boolean | string
  topics?: BridgeTopicRow[]
}

/** A problem with the Bridges tab's values, named by a key below `roost-broker.errors.`. */
export class BridgeDialogError extends DialogError<BridgeErrorKey> {}

/** Every key a BridgeDialogError may carry (the locale test checks each exists). */
export const BRIDGE_ERROR_KEYS = ['invalid-bridge-credentials', 'bridge-no-tls-config', 'bridge-tls-no-ca', 'bridge-tls-key'] as const
export type BridgeErrorKey = typeof BRIDGE_ERROR_KEYS[number]

/** A credential holding a JSON object of strings keyed by bridge name; {} when empty. */
export function parseBridgeCredential (text: string | undefined): Record<string, string> {
  if (text === undefined || text.trim() === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BridgeDialogError('invalid-bridge-credentials', {})
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BridgeDialogError('invalid-bridge-credentials', {})
  const entries = Object.entries(value as Record<string, unknown>)
  if (entries.some(([, entry]) => typeof entry !== 'string')) throw new BridgeDialogError('invalid-bridge-credentials', {})
  return Object.fromEntries(entries) as Record<string, string>
}

/**
 * The bridges of the dialog. Values the engine knows are passed as typed (a bad one is the schema's
 * error, naming the field); an unknown direction or start type is passed through for the same reason.
 */
export function bridgeOptions (rows: unknown, usernames: string | undefined, passwords: string | undefined, lookupTls: TlsLookup): BridgeOptions[] {
  if (!Array.isArray(rows)) return []
  const users = parseBridgeCredential(usernames)
  const secrets = parseBridgeCredential(passwords)
  return (rows as BridgeRow[]).map((row) => {
    const name = readString(row.name).trim()
    const bridge: BridgeOptions = {
      name,
      addresses: readString(row.addresses).split(/\s+/).filter((address) => address !== ''),
      protocolVersion: readString(row.protocolVersion, 'mqttv311') as BridgeProtocol,
      cleanSession: readBool(row.cleanSession, false),
      keepaliveSec: numberOr(row.keepalive, 60),
      startType: readString(row.startType, 'automatic') as BridgeStartType,
      tryPrivate: readBool(row.tryPrivate, true),
      notifications: readBool(row.notifications, true),
      topics: (Array.isArray(row.topics) ? row.topics : []).map(topicOf)
    }
    const clientId = readString(row.remoteClientId).trim()
    if (clientId !== '') bridge.remoteClientId = clientId
    const username = users[name]
    if (username !== undefined && username !== '') bridge.remoteUsername = username
    const password = secrets[name]
    if (password !== undefined && password !== '') bridge.remotePassword = password
    const tlsId = readString(row.tls)
    if (tlsId !== '') bridge.tls = tlsOf(name, tlsId, lookupTls)
    return bridge
  })
}

/** A number field: empty takes the default, anything else goes to the schema as typed (so 'abc' is refused, not replaced). */
function numberOr (value: unknown, fallback: number): number {
  return value === undefined || value === null || value === '' ? fallback : Number(value)
}

function topicOf (row: BridgeTopicRow): BridgeTopic {
  const topic: BridgeTopic = {
    pattern: readString(row.pattern),
    direction: readString(row.direction, 'out') as BridgeDirection,
    qos: numberOr(row.qos, 0) as QoS
  }
  // Topics are compared byte for byte [MQTT-4.7.3-4]: patterns and prefixes are kept as typed.
  const localPrefix = readString(row.localPrefix)
  if (localPrefix !== '') topic.localPrefix = localPrefix
  const remotePrefix = readString(row.remotePrefix)
  if (remotePrefix !== '') topic.remotePrefix = remotePrefix
  return topic
}

/**
 * TLS from the tls-config node. The bridge checks the remote's certificate chain and host name
 * against the node's CA only (bridges take no system CA store), so a node without a CA is refused
 * rather than left to connect in plain text.
 */
function tlsOf (bridge: string, id: string, lookupTls: TlsLookup): BridgeTlsOptions {
  const source = lookupTls(id)
  if (source === undefined) throw new BridgeDialogError('bridge-no-tls-config', { bridge })
  if (source.ca === undefined) throw new BridgeDialogError('bridge-tls-no-ca', { bridge })
  const tls: BridgeTlsOptions = { ca: source.ca }
  if (source.cert !== undefined) tls.cert = source.cert
  // A bridge's TLS options take no passphrase: an encrypted key is handed over decrypted.
  if (source.key !== undefined) tls.key = source.passphrase === undefined ? source.key : decryptedKey(bridge, source.key, source.passphrase)
  return tls
}

function decryptedKey (bridge: string, key: string, passphrase: string): string {
  try {
    return createPrivateKey({ key, passphrase }).export({ type: 'pkcs8', format: 'pem' }).toString()
  } catch (error) {
    throw new BridgeDialogError('bridge-tls-key', { bridge, error: error instanceof Error ? error.message : String(error) })
  }
}
