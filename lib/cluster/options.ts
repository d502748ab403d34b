// The cluster's options: which NATS servers the nodes meet on and what this node is called, with the
// JSON schema the broker's options schema embeds, so a cluster from a config file or code is checked alike.
import { hostname } from 'node:os'

/** Several Roost brokers as one, over NATS (see README, Cluster). */
export interface ClusterOptions {
  /** `cluster_nats_url` (Roost's own word): NATS server URLs, `nats://host:port`, tried in turn. */
  servers: string[]
  /** `cluster_node_id` (Roost's own word): this node's name on NATS, unique in the cluster; host name and process id when unset. */
  nodeId?: string
  /** Milliseconds between attempts to reach NATS while it is unreachable (1000 when unset). */
  reconnectWaitMs?: number
  /** Milliseconds between two heartbeats of this node in the membership bucket (1000 when unset). */
  heartbeatMs?: number
  /** Heartbeats a node may miss before the others declare it dead and publish its clients' wills (3 when unset). */
  deadAfterHeartbeats?: number
}

export const DEFAULT_HEARTBEAT_MS = 1000
export const DEFAULT_DEAD_AFTER_HEARTBEATS = 3

/** The node's id: the configured one, or host name and process id. */
export function clusterNodeId (options: ClusterOptions): string {
  return options.nodeId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`
}

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
    deadAfterHeartbeats: { type: 'integer', minimum: 2, maximum: 100 }
  }
} as const
