// The cluster's options: which NATS servers the nodes meet on and what this node is called, with the
// JSON schema the broker's options schema embeds, so a cluster from a config file or code is checked alike.

/** Several Roost brokers as one, over NATS (see README, Cluster). */
export interface ClusterOptions {
  /** `cluster_nats_url` (Roost's own word): NATS server URLs, `nats://host:port`, tried in turn. */
  servers: string[]
  /** `cluster_node_id` (Roost's own word): this node's name on NATS, unique in the cluster; host name and process id when unset. */
  nodeId?: string
  /** Milliseconds between attempts to reach NATS while it is unreachable (1000 when unset). */
  reconnectWaitMs?: number
}

export const CLUSTER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  properties: {
    servers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(nats|tls)://[^\\s]+$' } },
    // The node id names the NATS connection and reaches $SYS: printable, no wildcard, no separator.
    nodeId: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' },
    reconnectWaitMs: { type: 'integer', minimum: 10, maximum: 60_000 }
  }
} as const
