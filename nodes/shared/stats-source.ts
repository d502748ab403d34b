// Where roost sys gets its numbers: the embedded broker's own counters, or a remote broker's
// $SYS/broker/# tree read through the transport. Both give the same BrokerStatsSnapshot, so the
// node has one code path.
import type { BrokerStatsSnapshot } from '../../lib'
import { RemoteSysReader } from '../../lib/sys/remote'
import { EmbeddedTransport } from './embedded-transport'
import type { RoostTransport } from './transport'

export interface StatsSource {
  /** The latest figures; undefined while a remote broker has sent no $SYS message yet. */
  snapshot: () => BrokerStatsSnapshot | undefined
  /** Stops listening (unsubscribes from $SYS on a remote broker). Safe to call more than once. */
  close: () => void
}

type Rates = BrokerStatsSnapshot['rates']

/**
 * Rates per second over the time between two reads. The embedded broker's own rates move only
 * on its $SYS clock (and stay 0 with sys_interval 0), so the node measures over its own interval,
 * as the remote reader does.
 */
class RateMeter {
  private previous: { atMs: number, counters: Rates } | undefined
  private rates: Rates = { messagesReceived: 0, messagesSent: 0, publishReceived: 0, publishSent: 0, publishDropped: 0, bytesReceived: 0, bytesSent: 0 }

  measure (snapshot: BrokerStatsSnapshot, nowMs: number): Rates {
    const counters: Rates = {
      messagesReceived: snapshot.messages.received,
      messagesSent: snapshot.messages.sent,
      publishReceived: snapshot.publish.received,
      publishSent: snapshot.publish.sent,
      publishDropped: snapshot.publish.dropped,
      bytesReceived: snapshot.bytes.received,
      bytesSent: snapshot.bytes.sent
    }
    const previous = this.previous
    if (previous !== undefined && nowMs > previous.atMs) {
      const seconds = (nowMs - previous.atMs) / 1000
      const rates = { ...this.rates }
      for (const key of Object.keys(counters) as Array<keyof Rates>) rates[key] = Math.max(0, (counters[key] - previous.counters[key]) / seconds)
      this.rates = rates
    }
    this.previous = { atMs: nowMs, counters }
    return this.rates
  }
}

export function statsSource (transport: RoostTransport, now: () => number = Date.now): StatsSource {
  if (transport instanceof EmbeddedTransport) {
    const broker = transport.broker
    const meter = new RateMeter()
    return {
      snapshot: () => {
        const snapshot = broker.statsSnapshot()
        return { ...snapshot, rates: meter.measure(snapshot, now()) }
      },
      close: () => {}
    }
  }
  const reader = new RemoteSysReader()
  const unsubscribe = transport.subscribe(RemoteSysReader.filter, 0, (message) => { reader.handle(message.topic, message.payload) })
  return {
    snapshot: () => reader.empty ? undefined : reader.snapshot(now()),
    close: unsubscribe
  }
}
