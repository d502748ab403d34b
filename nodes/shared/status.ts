// The node status every Roost node shows. Remote: connected / connecting / disconnected
// (Node-RED's own words, as core `mqtt in`/`mqtt out` show them). Embedded: what the node itself
// does ("connected", "subscribed to 3 filters") for `roost in` and `roost out`, and the broker's
// client count for the nodes that watch the broker; an embedded broker whose disk store cannot
// write says so, as does one that cannot reach its cluster's NATS.
import type { NodeStatus, RedApi } from './red'
import type { RoostTransport, TransportStatus } from './transport'

/**
 * `subscribedFilters`: the node's own subscriptions, shown under an embedded broker instead of
 * the client count (0 shows "connected"); undefined for a node that watches the whole broker.
 */
export function describeStatus (RED: RedApi, kind: RoostTransport['kind'], status: TransportStatus, subscribedFilters?: number): NodeStatus {
  if (status.state === 'disconnected') {
    if (status.error !== undefined) return { fill: 'red', shape: 'ring', text: RED._('roost-broker.status.failed', { error: status.error }) }
    return { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' }
  }
  if (status.state === 'connecting') return { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' }
  if (kind === 'embedded') {
    // The broker serves from memory while its disk store cannot write: still up, but not durable.
    if (status.storeFailure !== undefined) return { fill: 'yellow', shape: 'dot', text: RED._('roost-broker.status.store-failing', { error: status.storeFailure }) }
    // In a cluster without NATS the broker still serves this node's clients: up, but on its own.
    if (status.clusterAlone === true) return { fill: 'yellow', shape: 'dot', text: RED._('roost-broker.status.cluster-alone') }
    if (subscribedFilters === undefined) {
      const clients = status.clients ?? 0
      return { fill: 'green', shape: 'dot', text: RED._(clients === 1 ? 'roost-broker.status.client' : 'roost-broker.status.clients', { count: clients }) }
    }
    if (subscribedFilters > 0) {
      return { fill: 'green', shape: 'dot', text: RED._(subscribedFilters === 1 ? 'roost-broker.status.filter' : 'roost-broker.status.filters', { count: subscribedFilters }) }
    }
  }
  return { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' }
}

export interface StatusFollower {
  /** Shows the status again: the node's own activity changed (a subscription came or went). */
  refresh: () => void
  stop: () => void
}

/**
 * Shows the transport's status on a `roost in` or `roost out` now and on every change.
 * `subscribedFilters` counts the node's subscriptions (always 0 for `roost out`).
 */
export function followStatus (RED: RedApi, transport: RoostTransport, show: (status: NodeStatus) => void, subscribedFilters: () => number = () => 0): StatusFollower {
  const refresh = (): void => { show(describeStatus(RED, transport.kind, transport.status, subscribedFilters())) }
  refresh()
  return { refresh, stop: transport.onStatus(refresh) }
}
