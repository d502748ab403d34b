// The JSON schema of BrokerOptions. Every entry point validates against this one schema.
import { LISTENER_PROTOCOLS } from './transport/listeners'

const nonNegativeInt = { type: 'integer', minimum: 0 } as const
/** A day: longer waits are no bound at all, and setTimeout cannot hold much more than 24 days. */
const MAX_TIMEOUT_SEC = 86_400

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
          protocol: { type: 'string', enum: LISTENER_PROTOCOLS }
        }
      }
    },
    allowAnonymous: { type: 'boolean' },
    users: { type: 'object', additionalProperties: { type: 'string' } },
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
    autosaveOnChanges: { type: 'boolean' }
  }
} as const
