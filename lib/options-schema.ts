// The JSON schema of BrokerOptions. Every entry point validates against this one schema.
import { LISTENER_PROTOCOLS } from './transport/listeners'
import { BRIDGE_SCHEMA } from './bridge/options'
import { CLUSTER_SCHEMA } from './cluster/options'

const nonNegativeInt = { type: 'integer', minimum: 0 } as const
/** A day: longer waits are no bound at all, and setTimeout cannot hold much more than 24 days. */
const MAX_TIMEOUT_SEC = 86_400

const text = { type: 'string', minLength: 1 } as const

/**
 * A listener's TLS settings, field by field. How fields go together (a certificate with its key)
 * is checked by listenerTlsProblem() (lib/transport/tls-context.ts), and the files themselves
 * when the listener opens.
 */
const LISTENER_TLS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cafile: text,
    capath: text,
    certfile: text,
    keyfile: text,
    crlfile: text,
    ca: text,
    cert: text,
    key: text,
    passphrase: { type: 'string' },
    requireCertificate: { type: 'boolean' },
    useIdentityAsUsername: { type: 'boolean' },
    useSubjectAsUsername: { type: 'boolean' },
    tlsVersion: { type: 'string', enum: ['tlsv1.1', 'tlsv1.2', 'tlsv1.3'] },
    ciphers: text,
    ciphersTls13: text,
    pskHint: text,
    pskFile: text
  }
} as const

export const BROKER_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listeners: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['port'],
        properties: {
          port: { type: 'integer', minimum: 0, maximum: 65535 },
          host: { type: 'string', minLength: 1 },
          protocol: { type: 'string', enum: LISTENER_PROTOCOLS },
          tls: LISTENER_TLS_SCHEMA,
          // A topic prefix: no wildcards, no NUL (Mosquitto checks it as a topic name).
          mountPoint: { type: 'string', minLength: 1, pattern: '^[^#+\\u0000]+$' },
          maxConnections: { type: 'integer', minimum: -1 },
          allowAnonymous: { type: 'boolean' },
          passwordFile: { type: 'string', minLength: 1 },
          aclFile: { type: 'string', minLength: 1 },
          // Mosquitto's limit: a 16-bit number.
          websocketsHeadersSize: { type: 'integer', minimum: 1, maximum: 65535 }
        }
      }
    },
    allowAnonymous: { type: 'boolean' },
    users: { type: 'object', additionalProperties: { type: 'string' } },
    passwordFile: { type: 'string', minLength: 1 },
    aclFile: { type: 'string', minLength: 1 },
    acl: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'access', 'filter'],
        properties: {
          kind: { type: 'string', enum: ['topic', 'pattern'] },
          // One line of an acl_file each: no line breaks.
          username: { type: 'string', pattern: '^[^\\r\\n]*$' },
          access: { type: 'string', enum: ['read', 'write', 'readwrite', 'deny'] },
          filter: { type: 'string', minLength: 1, pattern: '^[^\\r\\n]+$' }
        }
      }
    },
    passwordHashes: { type: 'object', additionalProperties: { type: 'string', pattern: '^\\$[67]\\$' } },
    perListenerSettings: { type: 'boolean' },
    allowZeroLengthClientid: { type: 'boolean' },
    // Part of client ids: no wildcards (they would keep the client out of %c patterns) and no NUL.
    autoIdPrefix: { type: 'string', pattern: '^[^#+\\u0000]*$' },
    clientidPrefixes: { type: 'string', pattern: '^[^\\u0000]*$' },
    useUsernameAsClientid: { type: 'boolean' },
    checkRetainSource: { type: 'boolean' },
    maxConnections: { type: 'integer', minimum: -1 },
    maxInflightMessages: { type: 'integer', minimum: 0, maximum: 65535 },
    maxInflightBytes: nonNegativeInt,
    maxQueuedMessages: nonNegativeInt,
    maxQueuedBytes: nonNegativeInt,
    queueQos0Messages: { type: 'boolean' },
    upgradeOutgoingQos: { type: 'boolean' },
    messageSizeLimit: { type: 'integer', minimum: 0, maximum: 268435455 },
    maxKeepalive: { type: 'integer', minimum: 0, maximum: 65535 },
    maxClientIdLength: { type: 'integer', minimum: 1, maximum: 65535 },
    maxTopicLevels: { type: 'integer', minimum: 1, maximum: 65535 },
    connectTimeoutSec: { type: 'number', exclusiveMinimum: 0, maximum: MAX_TIMEOUT_SEC },
    incompletePacketTimeoutSec: { type: 'number', minimum: 0, maximum: MAX_TIMEOUT_SEC },
    // The whole packet: 1 header byte, 4 length bytes and 268,435,455 more (MQTT 5.0, 1.5.5).
    maxPacketSize: { type: 'integer', minimum: 0, maximum: 268435460 },
    maxQos: { type: 'integer', enum: [0, 1, 2] },
    maxTopicAlias: { type: 'integer', minimum: 0, maximum: 65535 },
    responseInformationRoot: { type: 'string', minLength: 1, pattern: '^[^#+\\u0000]+$' },
    retainAvailable: { type: 'boolean' },
    persistentClientExpirationSec: nonNegativeInt,
    sysIntervalSec: nonNegativeInt,
    persistence: { type: 'boolean' },
    persistenceLocation: { type: 'string', minLength: 1 },
    // A file name, not a path: the store's files sit in persistenceLocation.
    persistenceFile: { type: 'string', minLength: 1, pattern: '^[^/\\\\]+$' },
    persistenceSync: { type: 'string', enum: ['always', 'batch', 'never'] },
    autosaveIntervalSec: nonNegativeInt,
    autosaveOnChanges: { type: 'boolean' },
    bridges: { type: 'array', items: BRIDGE_SCHEMA },
    bridgeSplitHorizon: { type: 'boolean' },
    cluster: CLUSTER_SCHEMA
  }
} as const
