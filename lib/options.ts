// Broker options: Mosquitto's configuration words in camelCase, one JSON schema for every entry
// point (the roost command's config file, the Node-RED dialog, code), validated by ajv so a bad
// value reads the same wherever it came from.
import Ajv from 'ajv'
import { ConfigError } from './errors'
import type { Logger } from './logger'
import type { Auth } from './auth/auth'
import type { Store } from './store/store'
import { BROKER_OPTIONS_SCHEMA } from './options-schema'
import type { ListenerProtocol } from './transport/listeners'

/** The largest whole packet MQTT can express: 1 header byte, 4 length bytes, 268,435,455 more (MQTT 5.0, 1.5.5). */
export const MQTT_MAX_PACKET_BYTES = 268_435_460

export interface ListenerOptions {
  /** TCP port (`listener <port>` / `port`); 0 lets the system pick a free one. */
  port: number
  /** Address to bind (`bind_address`, or the second word of `listener`); all addresses when unset. */
  host?: string
  /** `protocol`: what the listener speaks; `mqtt` (plain TCP) when unset. */
  protocol?: ListenerProtocol
}

export interface BrokerOptions {
  /** Where to accept MQTT clients; empty for an in-process-only broker. */
  listeners: ListenerOptions[]
  /** `allow_anonymous`: accept clients that send no username. */
  allowAnonymous: boolean
  /** Usernames with their plain-text passwords (Node-RED credentials, or code). */
  users: Record<string, string>
  /** `max_connections`: connected clients at once; -1 for no limit. */
  maxConnections: number
  /** `max_inflight_messages`: QoS 1 and 2 messages in flight to one client at once; 0 for no limit. */
  maxInflightMessages: number
  /** `max_inflight_bytes`: payload bytes of QoS 1 and 2 messages in flight to one client; the next one waits until fewer are (0 for no limit). */
  maxInflightBytes: number
  /** `max_queued_messages`: QoS 1 and 2 messages queued per client behind the inflight window; 0 for no limit. */
  maxQueuedMessages: number
  /** `max_queued_bytes`: payload bytes queued per client; 0 for no limit. */
  maxQueuedBytes: number
  /** `queue_qos0_messages`: also queue QoS 0 messages for offline persistent sessions. */
  queueQos0Messages: boolean
  /** `upgrade_outgoing_qos`: deliver at the subscription's QoS even when the message was published lower (not MQTT conformant). */
  upgradeOutgoingQos: boolean
  /** `message_size_limit`: largest PUBLISH payload accepted, in bytes; 0 for no limit of its own (the packet limit still holds). */
  messageSizeLimit: number
  /** `max_keepalive`: the longest keepalive a client may ask for, in seconds. */
  maxKeepalive: number
  /** Longest client identifier accepted, in bytes (MQTT 3.1 clients are held to 23 by their spec). */
  maxClientIdLength: number
  /** Most levels a topic name or filter may have (Mosquitto allows 200 separators: 201 levels). */
  maxTopicLevels: number
  /** `connect_timeout` (Roost's own word): seconds a new socket may take to send CONNECT before it is closed. */
  connectTimeoutSec: number
  /** `incomplete_packet_timeout` (Roost's own word): seconds a started packet may go without a byte before the client is closed; 0 waits forever. */
  incompletePacketTimeoutSec: number
  /** `max_packet_size`: largest whole packet accepted from a client, in bytes (2,000,000 as in Mosquitto 2.1); 0 for the protocol's limit, or message_size_limit plus room for topic and properties when that is set. Sent to MQTT 5 clients as Maximum Packet Size. */
  maxPacketSize: number
  /** `max_qos`: the highest QoS clients may publish with and be granted (sent to MQTT 5 clients as Maximum QoS). */
  maxQos: 0 | 1 | 2
  /** `max_topic_alias`: topic aliases an MQTT 5 client may use towards the broker; 0 turns them off. */
  maxTopicAlias: number
  /** Root of the Response Information given to MQTT 5 clients that ask for it: `<root>/<client id>/`. */
  responseInformationRoot: string
  /** `retain_available`: keep retained messages. */
  retainAvailable: boolean
  /** `persistent_client_expiration`: seconds an offline persistent session is kept; 0 keeps it forever. */
  persistentClientExpirationSec: number
  /** `sys_interval`: seconds between `$SYS` updates; 0 turns them off. */
  sysIntervalSec: number
  /** `persistence`: keep retained messages and persistent sessions on disk (lib/store/disk.ts); memory only when false. */
  persistence: boolean
  /** `persistence_location`: directory of the store's files. */
  persistenceLocation: string
  /** `persistence_file`: name the store's files start with (`<name>.<seq>.log`, `.snap`, `.lock`); Mosquitto's own file of that name is left alone. */
  persistenceFile: string
  /** `persistence_sync` (Roost's own word): always (acknowledge after fdatasync), batch (sync every autosave_interval), never (the OS decides). */
  persistenceSync: 'always' | 'batch' | 'never'
  /** `autosave_interval`: with persistence_sync batch, seconds between syncs (0: only at shutdown). */
  autosaveIntervalSec: number
  /** `autosave_on_changes`: autosave_interval counts changes instead of seconds. */
  autosaveOnChanges: boolean
}

/** Code-only parts of the options: never in a config file or the flow JSON. */
export interface BrokerHooks {
  logger?: Logger
  /** Authorizers asked after the built-in users table, in order (see lib/auth/auth.ts for how answers combine). */
  auth?: Auth | readonly Auth[]
  /** Where retained messages and persistent sessions are kept; the memory store when unset. */
  store?: Store
}

export const DEFAULTS: Readonly<BrokerOptions> = Object.freeze({
  listeners: [],
  allowAnonymous: true,
  users: {},
  maxConnections: -1,
  maxInflightMessages: 20,
  maxInflightBytes: 0,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 0,
  queueQos0Messages: false,
  upgradeOutgoingQos: false,
  messageSizeLimit: 0,
  maxKeepalive: 65535,
  maxClientIdLength: 65535,
  maxTopicLevels: 201,
  connectTimeoutSec: 10,
  incompletePacketTimeoutSec: 60,
  maxPacketSize: 2_000_000,
  maxQos: 2,
  maxTopicAlias: 10,
  responseInformationRoot: 'responses',
  retainAvailable: true,
  persistentClientExpirationSec: 0,
  sysIntervalSec: 10,
  persistence: false,
  // Mosquitto's defaults: the current directory, mosquitto.db, every 30 minutes.
  persistenceLocation: '.',
  persistenceFile: 'mosquitto.db',
  // Roost acknowledges only what is on disk unless told otherwise.
  persistenceSync: 'always',
  autosaveIntervalSec: 1800,
  autosaveOnChanges: false
})

const ajv = new Ajv({ allErrors: true, useDefaults: false })
const validate = ajv.compile<Partial<BrokerOptions>>(BROKER_OPTIONS_SCHEMA)

/** Explains ajv's findings in the option names a user wrote. */
export function describeOptionErrors (errors: typeof validate.errors): string {
  return (errors ?? []).map((error) => {
    const where = error.instancePath === '' ? 'options' : error.instancePath.slice(1).replace(/\//g, '.')
    if (error.keyword === 'additionalProperties') return `unknown option "${String(error.params.additionalProperty)}" in ${where}`
    return `${where} ${error.message ?? 'is invalid'}`
  }).join('; ')
}

/** Validates user options against the schema and fills in the defaults. Throws ConfigError. */
export function resolveOptions (input: Partial<BrokerOptions> = {}): BrokerOptions {
  if (!validate(input)) throw new ConfigError(describeOptionErrors(validate.errors))
  const options: BrokerOptions = { ...DEFAULTS, ...input, listeners: (input.listeners ?? DEFAULTS.listeners).map((l) => ({ ...l })) }
  options.users = { ...(input.users ?? {}) }
  // A message_size_limit chosen without max_packet_size keeps its meaning: the packet limit is then
  // that payload plus room for its topic and properties, not the default, which may be smaller.
  if (input.maxPacketSize === undefined && options.messageSizeLimit > 0) options.maxPacketSize = 0
  return options
}
