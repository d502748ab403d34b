// A bridge's options: Mosquitto's bridge words (`connection`, `address`, `topic`, ...) in
// camelCase, their defaults as mosquitto.conf(5) gives them, and the JSON schema the broker's
// options schema embeds, so a bridge from a config file, the editor or code is checked alike.
import type { QoS } from '../types'

export type BridgeDirection = 'in' | 'out' | 'both'
export type BridgeStartType = 'automatic' | 'lazy' | 'once'
export type BridgeProtocol = 'mqttv31' | 'mqttv311' | 'mqttv50'

/** One `topic <pattern> [in|out|both] [qos] [local-prefix] [remote-prefix]` line. */
export interface BridgeTopic {
  /** Topic filter shared between the brokers; '' to map exactly one topic (both prefixes then required). */
  pattern: string
  /** `in` from the remote, `out` to it, or `both`; `out` when unset. */
  direction?: BridgeDirection
  /** QoS of the subscriptions on both sides, and so the highest QoS a message crosses with; 0 when unset. */
  qos?: QoS
  /** Prefix of the topic on this broker ('' or unset: none). */
  localPrefix?: string
  /** Prefix of the topic on the remote broker ('' or unset: none). */
  remotePrefix?: string
}

/** TLS to the remote broker: on when cafile, capath, ca or identity/psk is set. */
export interface BridgeTlsOptions {
  /** PEM CA certificates as text (code and the editor's tls-config node), besides or instead of cafile. */
  ca?: string
  /** PEM client certificate as text, instead of certfile. */
  cert?: string
  /** PEM private key as text, instead of keyfile. */
  key?: string
  /** `bridge_cafile`: PEM file of the CA certificates that signed the remote's certificate. */
  cafile?: string
  /** `bridge_capath`: directory of PEM CA certificates (`*.crt`, `*.pem`). */
  capath?: string
  /** `bridge_certfile`: PEM client certificate, when the remote asks for one. */
  certfile?: string
  /** `bridge_keyfile`: PEM private key of certfile. */
  keyfile?: string
  /** `bridge_insecure`: do not check that the remote's certificate names the host connected to. */
  insecure?: boolean
  /** `bridge_tls_version`: the one TLS version to use; Node's range (1.2 and 1.3) when unset. */
  version?: 'tlsv1.1' | 'tlsv1.2' | 'tlsv1.3'
  /** `bridge_alpn`: the ALPN protocol to offer. */
  alpn?: string
  /** `bridge_identity`: TLS-PSK identity (with psk, instead of certificates). */
  identity?: string
  /** `bridge_psk`: TLS-PSK key in hexadecimal, no 0x. */
  psk?: string
}

export interface BridgeOptions {
  /** `connection`: the bridge's name, unique per broker; the remote client id is derived from it. */
  name: string
  /** `address`: the remote brokers as `host[:port]` (1883 when no port), tried as round_robin says. */
  addresses: string[]
  /** `round_robin`: all addresses are equals; otherwise the first is the main one, returned to when a link drops. */
  roundRobin?: boolean
  /** `start_type`: automatic (start, restart on failure), lazy (start past threshold queued, stop when idle), once. */
  startType?: BridgeStartType
  /** `restart_timeout` base: seconds before a restart (constant without a cap). */
  restartTimeoutSec?: number
  /** `restart_timeout` cap: with it, restarts back off from the base up to the cap with decorrelated jitter. */
  restartTimeoutCapSec?: number
  /** `idle_timeout`: seconds a lazy bridge stays connected with nothing to send. */
  idleTimeoutSec?: number
  /** `threshold`: messages queued for a lazy bridge before it starts. */
  threshold?: number
  /** `keepalive_interval`: keepalive in seconds towards the remote. */
  keepaliveSec?: number
  /** `cleansession`: start every connection without a session on the remote (false keeps subscriptions and queued messages there). */
  cleanSession?: boolean
  /** `local_clientid`: the bridge's name on this broker (events, ACL); `local.<remote client id>` when unset. */
  localClientId?: string
  /** `remote_clientid`: client id on the remote; `<name>.<hostname>` when unset. */
  remoteClientId?: string
  /** `remote_username`: user name on the remote. */
  remoteUsername?: string
  /** `remote_password`: password on the remote (needs remoteUsername before MQTT 5). */
  remotePassword?: string
  /** `local_username`: the user whose ACL rules the bridge's messages and subscriptions on this broker follow. */
  localUsername?: string
  /** `local_password`: accepted for Mosquitto files; the bridge runs inside the broker and is not asked to log in. */
  localPassword?: string
  /** `bridge_protocol_version`: mqttv31, mqttv311 or mqttv50. */
  protocolVersion?: BridgeProtocol
  /** `bridge_max_packet_size`: largest packet sent to the remote, in bytes; 0 for no limit of our own. */
  maxPacketSize?: number
  /** `bridge_outgoing_retain`: keep the retain flag on messages sent to the remote. */
  outgoingRetain?: boolean
  /** `bridge_receive_maximum`: MQTT 5 Receive Maximum asked of the remote. */
  receiveMaximum?: number
  /** `bridge_session_expiry_interval`: MQTT 5 session expiry (seconds) asked of the remote when cleansession is false. */
  sessionExpiryIntervalSec?: number
  /** `try_private`: mark CONNECT as a bridge's so Mosquitto or Roost does not echo our messages (MQTT 3.1/3.1.1). */
  tryPrivate?: boolean
  /** `notifications`: publish the link state (1/0, retained) here and on the remote (with a will there). */
  notifications?: boolean
  /** `notifications_local_only`: publish the link state on this broker only. */
  notificationsLocalOnly?: boolean
  /** `notification_topic`: where the state goes; `$SYS/broker/connection/<remote client id>/state` when unset. */
  notificationTopic?: string
  /** `bridge_attempt_unsubscribe`: unsubscribe on the remote from the filters of `out` topics at each connect. */
  attemptUnsubscribe?: boolean
  /** `topic` lines, in order: the first that matches a message maps it. */
  topics: BridgeTopic[]
  /** TLS to the remote (`bridge_cafile`, ...). */
  tls?: BridgeTlsOptions
}

/** Mosquitto's defaults (mosquitto.conf(5)). */
export const BRIDGE_DEFAULTS = Object.freeze({
  roundRobin: false,
  startType: 'automatic' as BridgeStartType,
  restartTimeoutSec: 5,
  restartTimeoutCapSec: 30,
  idleTimeoutSec: 60,
  threshold: 10,
  keepaliveSec: 60,
  cleanSession: false,
  protocolVersion: 'mqttv311' as BridgeProtocol,
  maxPacketSize: 0,
  outgoingRetain: true,
  tryPrivate: true,
  notifications: true,
  notificationsLocalOnly: false,
  attemptUnsubscribe: true
})

const text = { type: 'string', minLength: 1 } as const
const seconds = { type: 'number', exclusiveMinimum: 0, maximum: 86_400 } as const

const TOPIC_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['pattern'],
  properties: {
    pattern: { type: 'string' },
    direction: { type: 'string', enum: ['in', 'out', 'both'] },
    qos: { type: 'integer', enum: [0, 1, 2] },
    localPrefix: { type: 'string' },
    remotePrefix: { type: 'string' }
  }
} as const

const TLS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ca: text,
    cert: text,
    key: text,
    cafile: text,
    capath: text,
    certfile: text,
    keyfile: text,
    insecure: { type: 'boolean' },
    version: { type: 'string', enum: ['tlsv1.1', 'tlsv1.2', 'tlsv1.3'] },
    alpn: text,
    identity: text,
    psk: { type: 'string', pattern: '^[0-9a-fA-F]+$' }
  }
} as const

export const BRIDGE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'addresses', 'topics'],
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[^#+/\\u0000]+$' },
    addresses: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^\\s:\\[\\]]+|[0-9a-fA-F:]+)(:[0-9]{1,5})?$' } },
    roundRobin: { type: 'boolean' },
    startType: { type: 'string', enum: ['automatic', 'lazy', 'once'] },
    restartTimeoutSec: seconds,
    restartTimeoutCapSec: seconds,
    idleTimeoutSec: seconds,
    threshold: { type: 'integer', minimum: 1 },
    // Mosquitto's minimum keepalive for a bridge is 5 seconds.
    keepaliveSec: { type: 'integer', minimum: 5, maximum: 65535 },
    cleanSession: { type: 'boolean' },
    localClientId: text,
    remoteClientId: { type: 'string', minLength: 1, maxLength: 65535 },
    remoteUsername: { type: 'string' },
    remotePassword: { type: 'string' },
    localUsername: { type: 'string' },
    localPassword: { type: 'string' },
    protocolVersion: { type: 'string', enum: ['mqttv31', 'mqttv311', 'mqttv50'] },
    maxPacketSize: { type: 'integer', minimum: 0, maximum: 268435460 },
    outgoingRetain: { type: 'boolean' },
    receiveMaximum: { type: 'integer', minimum: 1, maximum: 65535 },
    sessionExpiryIntervalSec: { type: 'integer', minimum: 0, maximum: 4294967295 },
    tryPrivate: { type: 'boolean' },
    notifications: { type: 'boolean' },
    notificationsLocalOnly: { type: 'boolean' },
    notificationTopic: { type: 'string', minLength: 1, pattern: '^[^#+\\u0000]+$' },
    attemptUnsubscribe: { type: 'boolean' },
    topics: { type: 'array', items: TOPIC_SCHEMA },
    tls: TLS_SCHEMA
  }
} as const
