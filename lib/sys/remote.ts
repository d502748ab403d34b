// Reads another broker's $SYS/broker/... tree (Mosquitto's names, which Roost publishes too) into
// the same stats object the embedded broker gives, so a flow does not care which broker it watches.
import { LOAD_SERIES, LOAD_WINDOWS, type LoadSeries, type LoadValues, type LoadWindow } from './load'
import type { BrokerStatsSnapshot } from './snapshot'

const PREFIX = '$SYS/broker/'

/** Counter topics whose growth gives the per-second rates. */
const RATE_SOURCES: Record<keyof BrokerStatsSnapshot['rates'], string> = {
  messagesReceived: 'messages/received',
  messagesSent: 'messages/sent',
  publishReceived: 'publish/messages/received',
  publishSent: 'publish/messages/sent',
  publishDropped: 'publish/messages/dropped',
  bytesReceived: 'bytes/received',
  bytesSent: 'bytes/sent'
}

export class RemoteSysReader {
  private readonly values = new Map<string, string>()
  private previous: { atMs: number, counters: Record<string, number> } | undefined
  private rates: BrokerStatsSnapshot['rates'] = { messagesReceived: 0, messagesSent: 0, publishReceived: 0, publishSent: 0, publishDropped: 0, bytesReceived: 0, bytesSent: 0 }

  /** The filter to subscribe to. */
  static readonly filter = '$SYS/broker/#'

  /** Takes one message of the tree; returns false for topics outside it. */
  handle (topic: string, payload: Buffer | string): boolean {
    if (!topic.startsWith(PREFIX)) return false
    this.values.set(topic.slice(PREFIX.length), typeof payload === 'string' ? payload : payload.toString('utf8'))
    return true
  }

  /** Anything received yet? */
  get empty (): boolean { return this.values.size === 0 }

  /** The tree as one object; rates come from the counters' growth since the previous call. */
  snapshot (nowMs = Date.now()): BrokerStatsSnapshot {
    const n = (name: string): number => {
      const value = Number.parseFloat(this.values.get(name) ?? '')
      return Number.isFinite(value) ? value : 0
    }
    const counters: Record<string, number> = {}
    for (const source of Object.values(RATE_SOURCES)) counters[source] = n(source)
    const previous = this.previous
    if (previous !== undefined && nowMs > previous.atMs) {
      const seconds = (nowMs - previous.atMs) / 1000
      const rates = { ...this.rates }
      for (const [key, source] of Object.entries(RATE_SOURCES) as Array<[keyof BrokerStatsSnapshot['rates'], string]>) {
        rates[key] = Math.max(0, ((counters[source] ?? 0) - (previous.counters[source] ?? 0)) / seconds)
      }
      this.rates = rates
    }
    this.previous = { atMs: nowMs, counters }
    const load = {} as LoadValues
    for (const series of LOAD_SERIES) {
      load[series as LoadSeries] = {} as Record<LoadWindow, number>
      for (const [window] of LOAD_WINDOWS) load[series][window] = n(`load/${series}/${window}`)
    }
    const connected = this.values.has('clients/connected') ? n('clients/connected') : n('clients/active')
    const disconnected = this.values.has('clients/disconnected') ? n('clients/disconnected') : n('clients/inactive')
    return {
      version: this.values.get('version') ?? '',
      uptimeSec: n('uptime'),
      clients: { connected, disconnected, total: n('clients/total'), maximum: n('clients/maximum'), expired: n('clients/expired') },
      subscriptions: n('subscriptions/count'),
      sharedSubscriptions: n('shared_subscriptions/count'),
      retained: n('retained messages/count'),
      store: { messages: this.values.has('store/messages/count') ? n('store/messages/count') : n('messages/stored'), bytes: n('store/messages/bytes') },
      messages: { received: n('messages/received'), sent: n('messages/sent') },
      publish: {
        received: n('publish/messages/received'),
        sent: n('publish/messages/sent'),
        dropped: n('publish/messages/dropped'),
        bytesReceived: n('publish/bytes/received'),
        bytesSent: n('publish/bytes/sent')
      },
      bytes: { received: n('bytes/received'), sent: n('bytes/sent') },
      sockets: 0,
      connections: 0,
      rates: this.rates,
      load,
      heap: { current: n('heap/current'), maximum: n('heap/maximum') }
    }
  }
}
