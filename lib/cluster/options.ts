// The cluster's options: which NATS servers the nodes meet on and what this node is called, with the
// JSON schema the broker's options schema embeds, so a cluster from a config file or code is checked alike.
import { hostname } from 'node:os'

/** TLS towards NATS: on when any field is set (nats.js also upgrades when the server requires TLS). */
export interface ClusterTlsOptions {
  /** PEM CA certificates as text (code and the editor's tls-config node), besides or instead of cafile. */
  ca?: string
  /** PEM client certificate as text, instead of certfile. */
  cert?: string
  /** PEM private key as text, instead of keyfile. */
  key?: string
  /** `cluster_nats_cafile`: PEM file of the CA certificates that signed the NATS server's certificate. */
  cafile?: string
  /** `cluster_nats_certfile`: PEM client certificate, when NATS asks for one (`verify: true`). */
  certfile?: string
  /** `cluster_nats_keyfile`: PEM private key of certfile. */
  keyfile?: string
  /** Passphrase of an encrypted key (the editor's tls-config node). */
  passphrase?: string
}

/**
 * A node's link to NATS. Declared here, not beside the link, so the engine's public declarations
 * never reach nats.js's own, which older TypeScript module resolution cannot read.
 */
export type ClusterState = 'stopped' | 'connecting' | 'connected' | 'disconnected'

/** Several Roost brokers as one, over NATS (see README, Cluster). */
export interface ClusterOptions {
  /** `cluster_nats_url` (Roost's own word): NATS server URLs, `nats://host:port`, tried in turn. */
  servers: string[]
  /** `cluster_node_id` (Roost's own word): this node's name on NATS, unique in the cluster; host name and process id when unset. */
  nodeId?: string
  /** Milliseconds between attempts to reach NATS while it is unreachable (1000 when unset). */
  reconnectWaitMs?: number
  /** `cluster_nats_cafile`, `cluster_nats_certfile`, `cluster_nats_keyfile`: TLS to NATS. */
  tls?: ClusterTlsOptions
  /** `cluster_nats_username`: the NATS user (with password). */
  username?: string
  /** `cluster_nats_password`: the NATS user's password. */
  password?: string
  /** `cluster_nats_token`: a NATS authorization token, instead of user and password. */
  token?: string
  /** `cluster_nats_credentials`: a NATS `.creds` file (user JWT and nkey seed, as `nsc` writes it). */
  credentials?: string
  /** A NATS user nkey seed (`SU...`) as text (code and the editor). */
  nkeySeed?: string
  /** `cluster_nats_nkeyfile`: a file holding the NATS user nkey seed. */
  nkeyfile?: string
  /** Milliseconds between two heartbeats of this node in the membership bucket (1000 when unset). */
  heartbeatMs?: number
  /** Heartbeats a node may miss before the others declare it dead and publish its clients' wills (3 when unset). */
  deadAfterHeartbeats?: number
  /** `cluster_backlog_messages`: QoS 1/2 messages kept for the stream while NATS is away, at most (100000 when unset; 0: no bound). */
  backlogMessages?: number
  /** `cluster_backlog_bytes`: their payload bytes, at most (100 MiB when unset; 0: no bound). */
  backlogBytes?: number
  /**
   * `cluster_replicas` (Roost's own word): on how many NATS servers JetStream keeps the QoS 1/2 stream
   * and the buckets, 1 to 5 (1 when unset); 3 with a three-server NATS cluster survives losing one.
   */
  replicas?: number
}

export const DEFAULT_HEARTBEAT_MS = 1000
export const DEFAULT_DEAD_AFTER_HEARTBEATS = 3
/** One copy: all a single nats-server can hold (JetStream refuses more outside a NATS cluster). */
export const DEFAULT_REPLICAS = 1

/** The node's id: the configured one, or host name and process id. */
export function clusterNodeId (options: ClusterOptions): string {
  return options.nodeId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`
}

const text = { type: 'string', minLength: 1 } as const

export const CLUSTER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  properties: {
    servers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(nats|tls)://[^\\s]+$' } },
    // The node id names the NATS connection and reaches $SYS: printable, no wildcard, no separator.
    nodeId: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' },
    reconnectWaitMs: { type: 'integer', minimum: 10, maximum: 60_000 },
    heartbeatMs: { type: 'integer', minimum: 50, maximum: 60_000 },
    deadAfterHeartbeats: { type: 'integer', minimum: 2, maximum: 100 },
    backlogMessages: { type: 'integer', minimum: 0 },
    backlogBytes: { type: 'integer', minimum: 0 },
    // JetStream's own bounds on a stream's replicas.
    replicas: { type: 'integer', minimum: 1, maximum: 5 },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: { ca: text, cert: text, key: text, cafile: text, certfile: text, keyfile: text, passphrase: { type: 'string' } }
    },
    username: text,
    password: { type: 'string' },
    token: text,
    credentials: text,
    // A user seed: 'S', then 'U' (user), then base32 (nkeys' own encoding).
    nkeySeed: { type: 'string', pattern: '^SU[A-Z2-7]+$' },
    nkeyfile: text
  }
} as const

/** The ways to authenticate to NATS a ClusterOptions names: more than one is a mistake nats.js would resolve silently. */
const AUTH_WAYS = [
  ['username'], ['token'], ['credentials'], ['nkeySeed', 'nkeyfile']
] as const

/** What the schema cannot say about cluster options (clearly); undefined when they are fine. */
export function clusterOptionsProblem (cluster: ClusterOptions): string | undefined {
  if (cluster.password !== undefined && cluster.username === undefined) return 'password needs a username'
  const ways = AUTH_WAYS.flatMap((fields) => fields.filter((field) => cluster[field] !== undefined))
  if (ways.length > 1) return `sets ${ways.join(' and ')}: choose one way to authenticate to NATS`
  const tls = cluster.tls
  if (tls !== undefined && (tls.cert ?? tls.certfile) !== undefined && (tls.key ?? tls.keyfile) === undefined) return 'tls has a client certificate without its key'
  if (tls !== undefined && (tls.key ?? tls.keyfile) !== undefined && (tls.cert ?? tls.certfile) === undefined) return 'tls has a key without its client certificate'
  return undefined
}
