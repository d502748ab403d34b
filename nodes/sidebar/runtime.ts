// The runtime half of the editor's Roost sidebar: which embedded brokers run in this Node-RED,
// their history rings, and the admin endpoint the sidebar polls (guarded by roost.read).
import type { Broker } from '../../lib'
import type { RedApi } from '../shared/red'
import { BrokerHistory, SAMPLE_EVERY_MS } from './history'

interface WatchedBroker {
  id: string
  label: string
  broker: Broker
  history: BrokerHistory
}

const watched = new Map<string, WatchedBroker>()

/** Starts the history of an embedded broker node; returns the function that stops it. */
export function watchBroker (id: string, label: string, broker: Broker): () => void {
  watched.get(id)?.history.stop()
  const entry: WatchedBroker = { id, label, broker, history: new BrokerHistory(broker) }
  watched.set(id, entry)
  return () => {
    entry.history.stop()
    if (watched.get(id) === entry) watched.delete(id)
  }
}

/** Brokers watched now (for tests of the lifecycle). */
export function watchedBrokerCount (): number { return watched.size }

/** The endpoint's answer: every embedded broker with its clients, bridges, disk store and history. */
export function liveView (): { sampleEveryMs: number, brokers: unknown[] } {
  const brokers = [...watched.values()].sort((a, b) => a.label.localeCompare(b.label)).map((entry) => ({
    id: entry.id,
    label: entry.label,
    clients: entry.broker.clientDetails().map((client) => ({
      clientId: client.clientId,
      address: client.remoteAddress === undefined ? '' : `${client.remoteAddress}:${client.remotePort ?? 0}`,
      protocol: client.protocolVersion === 5 ? 'MQTT 5' : client.protocolVersion === 4 ? 'MQTT 3.1.1' : 'MQTT 3.1',
      subscriptions: client.subscriptions,
      connectedSince: new Date(client.connectedAtMs).toISOString()
    })).sort((a, b) => a.clientId.localeCompare(b.clientId)),
    // Each bridge's link as the broker reports it now (the bridgeState event's last word).
    bridges: entry.broker.bridgeStates().map((bridge) => ({
      name: bridge.name,
      state: bridge.state,
      address: bridge.address ?? '',
      lastError: bridge.lastError ?? '',
      queued: bridge.queued,
      dropped: bridge.dropped
    })).sort((a, b) => a.name.localeCompare(b.name)),
    store: storeView(entry.broker),
    cluster: clusterView(entry.broker),
    history: entry.history.samples()
  }))
  return { sampleEveryMs: SAMPLE_EVERY_MS, brokers }
}

/** The link to the cluster and this node's name in it; null for a broker that runs alone. */
function clusterView (broker: Broker): { state: string, nodeId: string } | null {
  const nodeId = broker.clusterNodeId
  return nodeId === undefined ? null : { state: broker.clusterState, nodeId }
}

/** The disk store's size, last compaction (ISO time, '' before the first) and failure ('' while it writes); null in memory. */
function storeView (broker: Broker): { bytes: number, lastCompaction: string, failure: string } | null {
  const disk = broker.statsSnapshot().disk
  if (disk === undefined) return null
  return {
    bytes: disk.bytes,
    lastCompaction: disk.lastCompactionMs > 0 ? new Date(disk.lastCompactionMs).toISOString() : '',
    failure: disk.failure ?? ''
  }
}

export const LIVE_VIEW_PATH = '/roost/live'

export function registerLiveView (RED: RedApi): void {
  const admin = RED.httpAdmin
  const auth = RED.auth
  // Without an admin server (Node-RED run with httpAdminRoot: false) there is no editor to serve.
  if (admin === undefined || auth === undefined) return
  admin.get(LIVE_VIEW_PATH, auth.needsPermission('roost.read'), (_request, response) => { response.json(liveView()) })
}
