// One plain object with everything the broker can tell about itself: what $SYS publishes and what
// the roost sys node emits.
import { version as packageVersion } from '../../package.json'
import type { LoadAverages, LoadCounters, LoadValues } from './load'
import type { SysSource } from './source'

export const ROOST_VERSION = packageVersion

export interface BrokerStatsSnapshot {
  /** "roost version 0.1.0", as $SYS/broker/version. */
  version: string
  uptimeSec: number
  clients: {
    connected: number
    /** Persistent sessions whose client is offline. */
    disconnected: number
    /** Connected clients plus offline persistent sessions. */
    total: number
    maximum: number
    expired: number
  }
  subscriptions: number
  sharedSubscriptions: number
  retained: number
  /** Messages held: retained, queued and in flight. */
  store: { messages: number, bytes: number }
  /** With persistence on: the disk store's files and state ($SYS/broker/store/disk/..., Roost's own topics). */
  disk?: { sync: string, bytes: number, lastCompactionMs: number, failure: string | undefined }
  messages: { received: number, sent: number }
  publish: { received: number, sent: number, dropped: number, bytesReceived: number, bytesSent: number }
  bytes: { received: number, sent: number }
  /** Sockets accepted and CONNECTs accepted since start. */
  sockets: number
  connections: number
  /** Per second, over the last interval. */
  rates: {
    messagesReceived: number
    messagesSent: number
    publishReceived: number
    publishSent: number
    publishDropped: number
    bytesReceived: number
    bytesSent: number
  }
  /** Per-minute exponentially decaying averages, as $SYS/broker/load/... */
  load: LoadValues
  heap: { current: number, maximum: number }
}

/** The counters load averages are computed from. */
export function loadCounters (source: SysSource): LoadCounters {
  const s = source.stats
  return {
    'messages/received': s.messagesReceived,
    'messages/sent': s.messagesSent,
    'publish/received': s.publishReceived,
    'publish/sent': s.publishSent,
    'publish/dropped': s.publishDropped,
    'bytes/received': s.bytesReceived,
    'bytes/sent': s.bytesSent,
    sockets: s.socketsAccepted,
    connections: s.connectionsAccepted
  }
}

export function takeSnapshot (source: SysSource, load: LoadAverages, heapMaximum: number, nowMs: number): BrokerStatsSnapshot {
  const s = source.stats
  const held = source.holdings()
  const connected = held.connected
  const total = held.sessions
  const rate = load.ratesPerSecond
  const heapCurrent = process.memoryUsage().heapUsed
  return {
    version: `roost version ${ROOST_VERSION}`,
    uptimeSec: Math.floor((nowMs - s.startedAt) / 1000),
    clients: { connected, disconnected: Math.max(0, total - connected), total, maximum: s.clientsMaximum, expired: s.clientsExpired },
    subscriptions: held.subscriptions,
    sharedSubscriptions: held.sharedSubscriptions,
    retained: held.retained,
    store: { messages: held.storedMessages, bytes: held.storedBytes },
    ...(held.disk === undefined ? {} : { disk: { sync: held.disk.sync, bytes: held.disk.diskBytes, lastCompactionMs: held.disk.lastCompactionMs, failure: held.disk.failure } }),
    messages: { received: s.messagesReceived, sent: s.messagesSent },
    publish: { received: s.publishReceived, sent: s.publishSent, dropped: s.publishDropped, bytesReceived: s.publishBytesReceived, bytesSent: s.publishBytesSent },
    bytes: { received: s.bytesReceived, sent: s.bytesSent },
    sockets: s.socketsAccepted,
    connections: s.connectionsAccepted,
    rates: {
      messagesReceived: rate['messages/received'],
      messagesSent: rate['messages/sent'],
      publishReceived: rate['publish/received'],
      publishSent: rate['publish/sent'],
      publishDropped: rate['publish/dropped'],
      bytesReceived: rate['bytes/received'],
      bytesSent: rate['bytes/sent']
    },
    load: load.values,
    heap: { current: heapCurrent, maximum: Math.max(heapMaximum, heapCurrent) }
  }
}
