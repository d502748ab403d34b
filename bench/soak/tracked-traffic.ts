// The traffic whose every acknowledged message is checked: fast MQTT.js publishers at QoS 0/1/2
// (3.1.1 and 5), two large-message publishers near max_packet_size, and the healthy subscribers
// that are owed them: clean ones, persistent ones that go offline and come back, and a shared
// subscription group. Topics: soak/fast/<n> and soak/large/<n>.
import { Pacer, type SoakContext } from './context'
import { TrackedPublisher, TrackedSubscriber, type SubscriberSpec } from './mqttjs'

/** How often the fast publishers send a batch. */
const TICK_MS = 50
/** A publisher with this many messages awaiting their acknowledgement sends no more for now. */
const MAX_PENDING = 400
const QOS_CHOICES: ReadonlyArray<0 | 1 | 2> = [0, 1, 1, 2, 2]
/** Fixed header (1 byte + 4 length bytes), topic length, packet id, and the MQTT 5 property length. */
const PUBLISH_OVERHEAD = 1 + 4 + 2 + 2 + 1

/** The healthy subscribers: one ledger entry each, or one for a whole shared group. */
const SUBSCRIBERS: ReadonlyArray<SubscriberSpec & { entry: string }> = [
  { entry: 'all-v4', name: 'soak-all-v4', version: 4, filter: 'soak/+/+', qos: 2, persistent: false },
  { entry: 'all-v5', name: 'soak-all-v5', version: 5, filter: 'soak/+/+', qos: 2, persistent: false },
  { entry: 'fast-q1-v4', name: 'soak-fast-q1-v4', version: 4, filter: 'soak/fast/#', qos: 1, persistent: false },
  { entry: 'fast-q1-v5', name: 'soak-fast-q1-v5', version: 5, filter: 'soak/fast/+', qos: 1, persistent: false },
  { entry: 'persistent-v4', name: 'soak-persistent-v4', version: 4, filter: 'soak/fast/+', qos: 2, persistent: true },
  { entry: 'persistent-v5', name: 'soak-persistent-v5', version: 5, filter: 'soak/fast/+', qos: 2, persistent: true },
  { entry: 'shared group', name: 'soak-shared-v4', version: 4, filter: '$share/soak/soak/fast/+', qos: 2, persistent: false },
  { entry: 'shared group', name: 'soak-shared-v5', version: 5, filter: '$share/soak/soak/fast/+', qos: 2, persistent: false }
]

export class TrackedTraffic {
  private readonly fast: TrackedPublisher[] = []
  private readonly large: TrackedPublisher[] = []
  private readonly subscribers: TrackedSubscriber[] = []
  private readonly pacer: Pacer

  constructor (private readonly ctx: SoakContext) {
    this.pacer = new Pacer(ctx.options.fastRate)
  }

  /** Every subscriber first (a message is owed only to subscriptions made before it), then the publishers. */
  async start (): Promise<void> {
    const { ctx } = this
    const entries = new Map<string, ReturnType<typeof ctx.ledger.addSubscriber>>()
    for (const spec of SUBSCRIBERS) {
      let entry = entries.get(spec.entry)
      if (entry === undefined) {
        entry = ctx.ledger.addSubscriber(spec.entry, spec.filter)
        entries.set(spec.entry, entry)
      }
      this.subscribers.push(new TrackedSubscriber(ctx, spec, entry))
    }
    await Promise.all(this.subscribers.map(async (subscriber) => await subscriber.connect()))
    for (let i = 0; i < ctx.options.fastPublishers; i++) {
      const version = i % 2 === 0 ? 4 : 5
      const name = `soak-fast-${i}-v${version}`
      this.fast.push(new TrackedPublisher(ctx, { name, version, index: ctx.ledger.addPublisher(name, `soak/fast/${i}`) }))
    }
    for (const version of [4, 5] as const) {
      const name = `soak-large-v${version}`
      this.large.push(new TrackedPublisher(ctx, { name, version, index: ctx.ledger.addPublisher(name, `soak/large/${version}`) }))
    }
    await Promise.all([...this.fast, ...this.large].map(async (publisher) => await publisher.start()))

    ctx.every(TICK_MS, () => this.publishFast())
    this.large.forEach((publisher, i) => {
      // The two large publishers take turns, so large messages arrive evenly.
      ctx.after(i * ctx.options.largeEverySec * 500, () => ctx.every(ctx.options.largeEverySec * 1000, () => this.publishLarge(publisher)))
    })
    for (const subscriber of this.subscribers) {
      if (subscriber.spec.persistent) ctx.guard(() => subscriber.cycle())
    }
  }

  private publishFast (): void {
    const { ctx } = this
    for (let due = this.pacer.due(); due > 0; due--) {
      const publisher = ctx.pick(this.fast)
      if (publisher.pending >= MAX_PENDING) {
        ctx.count('fast: skipped, publisher waiting for acknowledgements')
        continue
      }
      publisher.publish(ctx.pick(QOS_CHOICES), ctx.between(16, ctx.options.fastPayloadBytes))
    }
  }

  /** One message near max_packet_size (some exactly at it); now and then three back to back. */
  private publishLarge (publisher: TrackedPublisher): void {
    const { ctx } = this
    if (publisher.pending > 0) {
      ctx.count('large: skipped, previous one not yet acknowledged')
      return
    }
    const limit = ctx.options.maxPacketBytes
    const largest = limit - PUBLISH_OVERHEAD - ctx.ledger.topicOf(publisher.spec.index).length
    const burst = ctx.random() < 0.25 ? 3 : 1
    for (let i = 0; i < burst; i++) {
      const bytes = ctx.random() < 0.3 ? largest : largest - ctx.between(0, Math.floor(limit / 4))
      publisher.publish(ctx.random() < 0.5 ? 1 : 2, bytes)
      ctx.count('large: sent')
    }
  }

  /** After the load: the last acknowledgements, then every persistent subscriber back online. */
  async settle (): Promise<void> {
    await Promise.all([...this.fast, ...this.large].map(async (publisher) => await publisher.finish()))
    await Promise.all(this.subscribers.map(async (subscriber) => await subscriber.reconnect()))
  }

  close (): void {
    for (const client of [...this.fast, ...this.large, ...this.subscribers]) client.close()
  }
}
