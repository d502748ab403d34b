// The cluster as $SYS shows it (Roost's own topics, beside each node's own $SYS/broker/...):
//   $SYS/cluster/node                          this node's id
//   $SYS/cluster/state                         this node's link to NATS: connected, disconnected, connecting
//   $SYS/cluster/nodes                         how many nodes are up
//   $SYS/cluster/nodes/<id>/state              up, or down once the node died or left
//   $SYS/cluster/nodes/<id>/clients/connected  its connected clients, as of its last heartbeat
//   $SYS/cluster/clients/connected             connected clients over every node that is up
//   $SYS/cluster/backlog/messages              QoS 1/2 messages this node kept while NATS was away, not yet on the stream
//   $SYS/cluster/backlog/bytes                 their payload bytes
//   $SYS/cluster/backlog/dropped               messages not kept because the backlog was full, since the node started
// Retained, published when a value changes (heartbeats, a node joining or dying, the link), only
// what changed, and not at all with sys_interval 0, as $SYS/broker is.
import type { Heartbeat } from './membership'

/** What $SYS/cluster/backlog/... shows (ClusterLink.backlog). */
export interface BacklogCounts {
  readonly messages: number
  readonly bytes: number
  readonly dropped: number
}

export interface ClusterSysHost {
  readonly nodeId: string
  /** sys_interval > 0: $SYS is published at all. */
  readonly sysEnabled: boolean
  /** Publishes a retained $SYS message on this node. */
  publishSys (topic: string, value: string): void
}

export class ClusterSys {
  private readonly published = new Map<string, string>()
  /** Every node seen since this one started, so one that died still shows 'down'. */
  private readonly known = new Set<string>()

  constructor (private readonly host: ClusterSysHost) {}

  /** Publishes what changed, from the nodes now up and this node's link state and backlog. */
  update (nodes: ReadonlyMap<string, { heartbeat: Heartbeat }>, linkState: string, backlog: BacklogCounts): void {
    if (!this.host.sysEnabled) return
    const topics = new Map<string, string>()
    const put = (topic: string, value: string | number): void => { topics.set(`$SYS/cluster/${topic}`, String(value)) }
    put('node', this.host.nodeId)
    put('state', linkState)
    put('backlog/messages', backlog.messages)
    put('backlog/bytes', backlog.bytes)
    put('backlog/dropped', backlog.dropped)
    let up = 0
    let clients = 0
    for (const [nodeId, { heartbeat }] of nodes) {
      this.known.add(nodeId)
      if (heartbeat.state !== 'up') continue
      up++
      clients += heartbeat.clients
    }
    for (const nodeId of this.known) {
      const heartbeat = nodes.get(nodeId)?.heartbeat
      const isUp = heartbeat?.state === 'up'
      put(`nodes/${nodeId}/state`, isUp ? 'up' : 'down')
      put(`nodes/${nodeId}/clients/connected`, isUp ? heartbeat.clients : 0)
    }
    put('nodes', up)
    put('clients/connected', clients)
    for (const [topic, value] of topics) {
      if (this.published.get(topic) === value) continue
      this.published.set(topic, value)
      this.host.publishSys(topic, value)
    }
  }
}
