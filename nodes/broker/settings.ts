// The roost-broker dialog's values, turned into engine options for either mode.
import type { ExplorerNodeConfig } from '../explorer/settings'
import { type BrokerOptions, DEFAULTS, type Logger } from '../../lib'
import type { ClientOptions } from '../shared/client-api'
import { readBool, readInt, readString } from '../shared/config'
import { encodePayload, parseQos } from '../shared/outbound'
import type { TransportMessage } from '../shared/transport'
import { extraListeners, type SecurityConfig, securityOptions, type TlsLookup } from './security'
import { type BridgeRow, bridgeOptions } from './bridges'
import { type ClusterConfig, type ClusterCredentials, clusterOptions } from './cluster'

/** The flow JSON of a roost-broker node (credentials are separate and never in here). */
export interface BrokerNodeConfig extends SecurityConfig, ClusterConfig, ExplorerNodeConfig {
  mode?: string
  // embedded
  port?: string | number
  bindAddress?: string
  allowAnonymous?: boolean | string
  maxConnections?: string | number
  maxInflightMessages?: string | number
  maxInflightBytes?: string | number
  upgradeOutgoingQos?: boolean | string
  maxQueuedMessages?: string | number
  messageSizeLimit?: string | number
  maxPacketSize?: string | number
  maxKeepalive?: string | number
  connectTimeout?: string | number
  incompletePacketTimeout?: string | number
  sysInterval?: string | number
  persistence?: boolean | string
  /** Path on Node-RED's own HTTP server where MQTT over WebSockets is served (e.g. /mqtt); empty for none. */
  wsPath?: string
  /** The Bridges tab's rows (nodes/broker/bridges.ts). */
  bridges?: BridgeRow[]
  // remote
  host?: string
  remotePort?: string | number
  usetls?: boolean | string
  tls?: string
  clientid?: string
  keepalive?: string | number
  cleansession?: boolean | string
  protocolVersion?: string | number
  reconnectPeriod?: string | number
  /** False: connect only on a node's msg.action "connect" (core `mqtt-broker`'s field of the same name). */
  autoConnect?: boolean | string
  birthTopic?: string
  birthPayload?: string
  birthQos?: string | number
  birthRetain?: boolean | string
  closeTopic?: string
  closePayload?: string
  closeQos?: string | number
  closeRetain?: boolean | string
  willTopic?: string
  willPayload?: string
  willQos?: string | number
  willRetain?: boolean | string
}

export interface BrokerCredentials extends ClusterCredentials {
  /** JSON list of {username, hash} (or, saved before hashing, {username, password}) for the embedded broker. */
  users?: string
  /** Username and password for a remote broker. */
  user?: string
  password?: string
  /** JSON object: bridge name to the user name on its remote broker. */
  bridgeUsers?: string
  /** JSON object: bridge name to the password on its remote broker. */
  bridgePasswords?: string
}

export const DEFAULT_PORT = 1883

/**
 * The engine options of an embedded broker. `storeDir` is where it keeps its state on disk
 * (`<userDir>/roost/<node id>`); the node's persistence setting, on unless unticked, decides
 * whether it does. Without a directory (a runtime with no userDir) state lives in memory.
 * Throws DialogError (security.ts) when the Security tab's values cannot be used; `lookupTls`
 * finds the tls-config node a TLS listener or a bridge names.
 */
export function embeddedOptions (config: BrokerNodeConfig, credentials: BrokerCredentials, storeDir?: string, lookupTls: TlsLookup = () => undefined): Partial<BrokerOptions> {
  const persistence = storeDir !== undefined && readBool(config.persistence, true)
  const listener: { port: number, host?: string } = { port: readInt(config.port, DEFAULT_PORT) }
  const bind = readString(config.bindAddress).trim()
  if (bind !== '') listener.host = bind
  const cluster = clusterOptions(config, credentials, lookupTls)
  return {
    ...securityOptions(config, credentials.users),
    listeners: [listener, ...extraListeners(config, lookupTls)],
    allowAnonymous: readBool(config.allowAnonymous, true),
    maxConnections: readInt(config.maxConnections, -1),
    maxInflightMessages: readInt(config.maxInflightMessages, 20),
    maxInflightBytes: readInt(config.maxInflightBytes, 0),
    upgradeOutgoingQos: readBool(config.upgradeOutgoingQos, false),
    maxQueuedMessages: readInt(config.maxQueuedMessages, 1000),
    messageSizeLimit: readInt(config.messageSizeLimit, 0),
    // New nodes get 2,000,000 from the editor. A node saved before the field existed accepted any
    // packet up to the protocol's limit (or message_size_limit's): it keeps doing so rather than
    // start refusing what its devices send after an upgrade.
    maxPacketSize: readInt(config.maxPacketSize, 0),
    maxKeepalive: readInt(config.maxKeepalive, 65535),
    connectTimeoutSec: readInt(config.connectTimeout, DEFAULTS.connectTimeoutSec),
    incompletePacketTimeoutSec: readInt(config.incompletePacketTimeout, DEFAULTS.incompletePacketTimeoutSec),
    sysIntervalSec: readInt(config.sysInterval, 10),
    ...(persistence ? { persistence, persistenceLocation: storeDir } : {}),
    bridges: bridgeOptions(config.bridges, credentials.bridgeUsers, credentials.bridgePasswords, lookupTls),
    ...(cluster === undefined ? {} : { cluster })
  }
}

export function remoteClientOptions (config: BrokerNodeConfig, credentials: BrokerCredentials, tls: Record<string, unknown> | undefined, logger: Logger): ClientOptions {
  const version = readInt(config.protocolVersion, 4)
  const options: ClientOptions = {
    host: readString(config.host, 'localhost').trim() || 'localhost',
    port: readInt(config.remotePort, tls === undefined ? 1883 : 8883),
    keepaliveSec: readInt(config.keepalive, 60),
    cleanSession: readBool(config.cleansession, true),
    protocolVersion: version === 5 ? 5 : version === 3 ? 3 : 4,
    reconnectPeriodMs: readInt(config.reconnectPeriod, 5) * 1000,
    connectTimeoutMs: 30_000,
    logger
  }
  const clientId = readString(config.clientid).trim()
  if (clientId !== '') options.clientId = clientId
  if (tls !== undefined) options.tls = tls
  if (credentials.user !== undefined && credentials.user !== '') options.username = credentials.user
  if (credentials.password !== undefined && credentials.password !== '') options.password = credentials.password
  const will = lifecycleMessage(config.willTopic, config.willPayload, config.willQos, config.willRetain)
  if (will !== undefined) options.will = will
  return options
}

/** A birth, close or will message from the Messages tab; undefined when its topic is empty. */
export function lifecycleMessage (topic: string | undefined, payload: string | undefined, qos: unknown, retain: unknown): TransportMessage | undefined {
  const name = readString(topic).trim()
  if (name === '') return undefined
  return { topic: name, payload: encodePayload(payload ?? ''), qos: parseQos(qos) ?? 0, retain: readBool(retain, false) }
}
