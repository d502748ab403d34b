// The node status every Roost node shows: "N clients" for an embedded broker, and
// connected / connecting / disconnected (Node-RED's own words) for a remote one; an embedded
// broker whose disk store cannot write says so, as does one that lost its cluster's NATS.
import type { NodeStatus, RedApi } from './red'
import type { RoostTransport, TransportStatus } from './transport'

export function describeStatus (RED: RedApi, kind: RoostTransport['kind'], status: TransportStatus): NodeStatus {
  if (status.state === 'disconnected') {
    if (status.error !== undefined) return { fill: 'red', shape: 'ring', text: RED._('roost-broker.status.failed', { error: status.error }) }
    return { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' }
  }
  if (status.state === 'connecting') return { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' }
  if (kind === 'embedded') {
    const clients = status.clients ?? 0
    // The broker serves from memory while its disk store cannot write: still up, but not durable.
    if (status.storeFailure !== undefined) return { fill: 'yellow', shape: 'dot', text: RED._('roost-broker.status.store-failing', { error: status.storeFailure }) }
    // In a cluster without NATS the broker still serves this node's clients: up, but on its own.
    if (status.clusterAlone === true) return { fill: 'yellow', shape: 'dot', text: RED._('roost-broker.status.cluster-alone', { count: clients }) }
    return { fill: 'green', shape: 'dot', text: RED._(clients === 1 ? 'roost-broker.status.client' : 'roost-broker.status.clients', { count: clients }) }
  }
  return { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' }
}

/** Shows the transport's status on a node now and on every change; returns the stop function. */
export function followStatus (RED: RedApi, transport: RoostTransport, show: (status: NodeStatus) => void): () => void {
  show(describeStatus(RED, transport.kind, transport.status))
  return transport.onStatus((status) => { show(describeStatus(RED, transport.kind, status)) })
}
