// The $SYS/broker/... tree with Mosquitto's topic names, so existing dashboards and tools work
// unchanged. Every sys_interval it publishes, retained, only the values that changed since the
// previous tick; the first tick publishes everything (Mosquitto sys_tree.c behaves the same).
// Unlike Mosquitto, 'retained messages/count' counts the users' retained messages only: the
// tree's own are kept apart. With persistence on, `store/disk/...` (Roost's own) tells how the
// disk store is doing.
import { LOAD_SERIES, LOAD_WINDOWS, LoadAverages } from './load'
import { type BrokerStatsSnapshot, loadCounters, takeSnapshot } from './snapshot'
import type { SysSource } from './source'

/** $SYS messages go out at QoS 2, as Mosquitto sends them. */
export const SYS_QOS = 2

/** Topic → value, in Mosquitto's wording, for one snapshot. */
export function sysTopics (snapshot: BrokerStatsSnapshot): Map<string, string> {
  const topics = new Map<string, string>()
  const put = (topic: string, value: number | string): void => { topics.set(`$SYS/broker/${topic}`, String(value)) }
  put('version', snapshot.version)
  put('uptime', `${snapshot.uptimeSec} seconds`)
  put('clients/total', snapshot.clients.total)
  put('clients/connected', snapshot.clients.connected)
  put('clients/active', snapshot.clients.connected)
  put('clients/disconnected', snapshot.clients.disconnected)
  put('clients/inactive', snapshot.clients.disconnected)
  put('clients/maximum', snapshot.clients.maximum)
  put('clients/expired', snapshot.clients.expired)
  put('messages/received', snapshot.messages.received)
  put('messages/sent', snapshot.messages.sent)
  put('messages/stored', snapshot.store.messages)
  put('store/messages/count', snapshot.store.messages)
  put('store/messages/bytes', snapshot.store.bytes)
  // Roost's own: the disk store (persistence true), which Mosquitto's tree has no words for.
  const disk = snapshot.disk
  if (disk !== undefined) {
    put('store/disk/sync', disk.sync)
    put('store/disk/bytes', disk.bytes)
    put('store/disk/last compaction', Math.floor(disk.lastCompactionMs / 1000))
    put('store/disk/state', disk.failure === undefined ? 'writing' : `failing: ${disk.failure}`)
  }
  put('publish/messages/received', snapshot.publish.received)
  put('publish/messages/sent', snapshot.publish.sent)
  put('publish/messages/dropped', snapshot.publish.dropped)
  put('publish/bytes/received', snapshot.publish.bytesReceived)
  put('publish/bytes/sent', snapshot.publish.bytesSent)
  put('bytes/received', snapshot.bytes.received)
  put('bytes/sent', snapshot.bytes.sent)
  put('subscriptions/count', snapshot.subscriptions)
  put('shared_subscriptions/count', snapshot.sharedSubscriptions)
  put('retained messages/count', snapshot.retained)
  put('heap/current', snapshot.heap.current)
  put('heap/maximum', snapshot.heap.maximum)
  for (const series of LOAD_SERIES) {
    for (const [window] of LOAD_WINDOWS) put(`load/${series}/${window}`, snapshot.load[series][window].toFixed(2))
  }
  return topics
}

/** Runs the statistics clock: load averages always, $SYS publishing when sys_interval > 0. */
export class SysTree {
  readonly load = new LoadAverages()
  private heapMaximum = 0
  private published = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly source: SysSource) {}

  start (): void {
    const intervalSec = this.source.options.sysIntervalSec
    this.load.update(loadCounters(this.source), Date.now())
    if (intervalSec <= 0) return
    this.publishChanged(Date.now())
    this.timer = setInterval(() => this.tick(Date.now()), intervalSec * 1000)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** One interval: fold counters into the load averages, then publish what changed. */
  tick (nowMs: number): void {
    this.load.update(loadCounters(this.source), nowMs)
    this.publishChanged(nowMs)
  }

  snapshot (nowMs = Date.now()): BrokerStatsSnapshot {
    const snapshot = takeSnapshot(this.source, this.load, this.heapMaximum, nowMs)
    this.heapMaximum = snapshot.heap.maximum
    return snapshot
  }

  private publishChanged (nowMs: number): void {
    for (const [topic, value] of sysTopics(this.snapshot(nowMs))) {
      if (this.published.get(topic) === value) continue
      this.published.set(topic, value)
      this.source.dispatchMessage({ id: 0, topic, payload: Buffer.from(value), qos: SYS_QOS, retain: true })
    }
  }
}
