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
import { listenerTlsProblem } from './transport/tls-context'
import type { BridgeOptions } from './bridge/options'
import { type ClusterOptions, clusterOptionsProblem } from './cluster/options'
import { checkBridges } from './bridge/settings'

/** The largest whole packet MQTT can express: 1 header byte, 4 length bytes, 268,435,455 more (MQTT 5.0, 1.5.5). */
export const MQTT_MAX_PACKET_BYTES = 268_435_460

export interface ListenerOptions {
  /** TCP port (`listener <port>` / `port`); 0 lets the system pick a free one. */
  port: number
  /** Address to bind (`bind_address`, or the second word of `listener`); all addresses when unset. */
  host?: string
  /** `protocol`: what the listener speaks; `mqtt` (plain TCP) when unset. */
  protocol?: ListenerProtocol
  /** TLS on this listener (certificate or PSK); plain when unset. */
  tls?: ListenerTlsOptions
  /** `mount_point`: prefix put before every topic of this listener's clients on the way in and taken off on the way out. */
  mountPoint?: string
  /** `max_connections` of this listener: its connected clients at once; -1 or unset for no limit of its own. */
  maxConnections?: number
  /** `allow_anonymous` of this listener; read only with perListenerSettings (the broker-wide value when unset). */
  allowAnonymous?: boolean
  /** `password_file` of this listener; read only with perListenerSettings. */
  passwordFile?: string
  /** `acl_file` of this listener; read only with perListenerSettings. */
  aclFile?: string
  /** `websockets_headers_size`: largest HTTP request head a WebSocket listener reads, in bytes; Node's 16 KiB when unset. */
  websocketsHeadersSize?: number
}

/** A listener's TLS settings: Mosquitto's per-listener TLS words, and PEM text for the Node-RED tls-config node. */
export interface ListenerTlsOptions {
  /** `cafile`: PEM file of the CAs that client certificates must chain to. */
  cafile?: string
  /** `capath`: directory of PEM CA files (every file in it is read). */
  capath?: string
  /** `certfile`: PEM file of the server certificate (and any intermediates). */
  certfile?: string
  /** `keyfile`: PEM file of the server's private key. */
  keyfile?: string
  /** `crlfile`: PEM file of certificate revocation lists checked against client certificates. */
  crlfile?: string
  /** CA certificates as PEM text (in addition to cafile/capath). */
  ca?: string
  /** The server certificate as PEM text (instead of certfile). */
  cert?: string
  /** The server's private key as PEM text (instead of keyfile). */
  key?: string
  /** Passphrase of an encrypted private key. */
  passphrase?: string
  /** `require_certificate`: refuse clients without a certificate signed by a trusted CA. */
  requireCertificate?: boolean
  /** `use_identity_as_username`: the client certificate's CN (or the PSK identity) is the username; no password is asked. */
  useIdentityAsUsername?: boolean
  /** `use_subject_as_username`: the client certificate's whole subject (RFC 2253) is the username. */
  useSubjectAsUsername?: boolean
  /** `tls_version`: the oldest TLS version accepted (Mosquitto's meaning: this one and newer). */
  tlsVersion?: 'tlsv1.1' | 'tlsv1.2' | 'tlsv1.3'
  /** `ciphers`: OpenSSL cipher list for TLS 1.2 and older. */
  ciphers?: string
  /** `ciphers_tls1.3`: OpenSSL ciphersuites for TLS 1.3. */
  ciphersTls13?: string
  /** `psk_hint`: identity hint sent to TLS-PSK clients; turns TLS-PSK on for the listener. */
  pskHint?: string
  /** `psk_file`: file of `identity:hexkey` lines, the keys TLS-PSK clients may use. */
  pskFile?: string
}

/** One row of the access-rule table: an acl_file `topic` line (in a `user` block when username is set) or `pattern` line. */
export interface AclEntry {
  /** `topic` (for one user, or for anonymous clients when username is unset) or `pattern` (every client, with %c and %u). */
  kind: 'topic' | 'pattern'
  /** The user a `topic` entry is for; unset (or empty) for anonymous clients and for patterns. */
  username?: string
  /** What the entry grants, or `deny` to refuse. */
  access: 'read' | 'write' | 'readwrite' | 'deny'
  /** The topic filter the entry applies to. */
  filter: string
}

export interface BrokerOptions {
  /** Where to accept MQTT clients; empty for an in-process-only broker. */
  listeners: ListenerOptions[]
  /** `allow_anonymous`: accept clients that send no username. */
  allowAnonymous: boolean
  /** Usernames with their plain-text passwords (Node-RED credentials, or code). */
  users: Record<string, string>
  /** `password_file`: Mosquitto password file (path), read when the broker is created and again by broker.reload(). */
  passwordFile?: string
  /** `acl_file`: Mosquitto ACL file (path), read when the broker is created and again by broker.reload(). */
  aclFile?: string
  /** Access rules as a table, applied as if appended to acl_file. */
  acl?: AclEntry[]
  /** Usernames with Mosquitto `$6$`/`$7$` password hashes (the editor's users), checked like password_file lines. */
  passwordHashes?: Record<string, string>
  /** `per_listener_settings`: allow_anonymous, password_file and acl_file apply per listener (ListenerOptions) rather than broker-wide. */
  perListenerSettings: boolean
  /** `allow_zero_length_clientid`: give clients that send an empty client id one of their own; false refuses them. */
  allowZeroLengthClientid: boolean
  /** `auto_id_prefix`: what client ids the broker assigns begin with. */
  autoIdPrefix: string
  /** `clientid_prefixes`: only client ids starting with this are accepted; empty accepts all. */
  clientidPrefixes: string
  /** `use_username_as_clientid`: a client's username replaces its client id (clients without a username are refused). */
  useUsernameAsClientid: boolean
  /** `check_retain_source`: a retained message is delivered only while its publisher may still write its topic (on by default, as in Mosquitto). */
  checkRetainSource: boolean
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
  /** `connection` sections: bridges to other brokers (see lib/bridge/options.ts); broker.setBridges() changes them at runtime. */
  bridges: BridgeOptions[]
  /** `bridge_split_horizon` (Roost's own word): a message that came in over a bridge (ours, or a client marked as one) never leaves over another, so a full mesh of `both` bridges cannot loop. */
  bridgeSplitHorizon: boolean
  /** `cluster_nats_url`, `cluster_node_id` and the other `cluster_*` words (Roost's own): several brokers as one over NATS (lib/cluster/options.ts); none when unset. */
  cluster?: ClusterOptions
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
  perListenerSettings: false,
  allowZeroLengthClientid: true,
  autoIdPrefix: 'auto-',
  clientidPrefixes: '',
  useUsernameAsClientid: false,
  checkRetainSource: true,
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
  autosaveOnChanges: false,
  bridges: [],
  bridgeSplitHorizon: false
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
  input.listeners?.forEach((listener, index) => {
    const problem = listener.tls === undefined ? undefined : listenerTlsProblem(listener.tls)
    if (problem !== undefined) throw new ConfigError(`listeners.${index}.tls ${problem}`)
  })
  const options: BrokerOptions = { ...DEFAULTS, ...input, listeners: (input.listeners ?? DEFAULTS.listeners).map((l) => ({ ...l })) }
  options.users = { ...(input.users ?? {}) }
  if (input.passwordHashes !== undefined) options.passwordHashes = { ...input.passwordHashes }
  if (input.acl !== undefined) options.acl = input.acl.map((entry) => ({ ...entry }))
  options.bridges = structuredClone(input.bridges ?? [])
  if (input.cluster !== undefined) options.cluster = structuredClone(input.cluster)
  const clusterProblem = input.cluster === undefined ? undefined : clusterOptionsProblem(input.cluster)
  if (clusterProblem !== undefined) throw new ConfigError(`cluster ${clusterProblem}`)
  checkBridges(options.bridges)
  // A message_size_limit chosen without max_packet_size keeps its meaning: the packet limit is then
  // that payload plus room for its topic and properties, not the default, which may be smaller.
  if (input.maxPacketSize === undefined && options.messageSizeLimit > 0) options.maxPacketSize = 0
  return options
}
