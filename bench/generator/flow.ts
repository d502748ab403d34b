// The closed-loop message pump behind the throughput scenarios. Publishers write pre-encoded
// PUBLISH runs as fast as the broker takes them, but never more than a window of messages ahead
// of what the subscribers have received, so no broker is pushed into dropping or into queueing
// without bound: what is measured is the rate a broker sustains, and its CPU per delivery.
import { PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, PublishRun, payload64, publishPacket } from './packets'
import { WireClient } from './wire'

/** Packets per write: enough to amortise a syscall, small enough to keep the flow smooth. */
const BATCH = 50
/** Packet ids run 1..65535; the run holds them all, so any in-flight range is one slice. */
const IDS = 65535
/** No delivery progress for this long: the broker dropped messages; the window is re-based. */
const STALL_MS = 1000

export interface FlowPlan {
  port: number
  /** Every client speaks TLS. */
  secure: boolean
  /** Every client talks over a WebSocket. */
  webSocket: boolean
  qos: number
  publishers: number
  subscribers: number
  filter: string
  topicOf (publisher: number): string
  /** Most messages published and not yet received by every subscriber. */
  window: number
  /** Most QoS 1/2 messages each publisher has unacknowledged by the broker. */
  inflightPerPublisher: number
  /** Subscribers keep their sessions (clean session false), so a durable broker stores what it delivers. */
  persistentSubscribers?: boolean
}

interface Publisher {
  client: WireClient
  run: PublishRun
  nextId: number
  inflight: number
  blocked: boolean
}

export class Flow {
  /** Deliveries counted at the subscribers. */
  delivered = 0
  /** Messages written by the publishers. */
  sent = 0
  /** Messages the broker never delivered (re-based after a stall). */
  dropped = 0
  private publishers: Publisher[] = []
  private subscribers: WireClient[] = []
  private running = false
  private turn = 0
  private lastProgress = 0
  private lastDelivered = 0
  private stallTimer: NodeJS.Timeout | undefined

  constructor (private readonly plan: FlowPlan) {}

  async open (tag: string): Promise<void> {
    const { plan } = this
    for (let i = 0; i < plan.subscribers; i++) {
      const client = await WireClient.connect(plan.port, `${tag}-sub-${i}`, { secure: plan.secure, webSocket: plan.webSocket, clean: plan.persistentSubscribers !== true })
      await client.subscribe(plan.filter, plan.qos)
      client.onPacket = (type, flags, data, start) => {
        if (type === PUBLISH) {
          this.delivered++
          const qos = (flags >> 1) & 3
          if (qos === 0) return
          const idAt = start + 2 + (data.readUInt16BE(start))
          const id = ((data[idAt] as number) << 8) | (data[idAt + 1] as number)
          client.ack(qos === 1 ? PUBACK : PUBREC, id)
        } else if (type === PUBREL) {
          client.ack(PUBCOMP, ((data[start] as number) << 8) | (data[start + 1] as number))
        }
      }
      client.onChunk = this.pump
      this.subscribers.push(client)
    }
    const payload = payload64()
    for (let i = 0; i < plan.publishers; i++) {
      const client = await WireClient.connect(plan.port, `${tag}-pub-${i}`, { secure: plan.secure, webSocket: plan.webSocket })
      const template = publishPacket(plan.topicOf(i), payload, plan.qos, 1)
      const publisher: Publisher = {
        client,
        run: new PublishRun(template, plan.qos > 0 ? IDS : BATCH, plan.qos > 0),
        nextId: 1,
        inflight: 0,
        blocked: false
      }
      client.onPacket = (type, _flags, data, start) => {
        if (type === PUBACK || type === PUBCOMP) publisher.inflight--
        else if (type === PUBREC) client.ack(PUBREL, ((data[start] as number) << 8) | (data[start + 1] as number))
      }
      client.onChunk = this.pump
      client.socket.on('drain', () => {
        publisher.blocked = false
        this.pump()
      })
      this.publishers.push(publisher)
    }
  }

  start (): void {
    this.running = true
    this.lastProgress = Date.now()
    this.stallTimer = setInterval(() => this.checkStall(), STALL_MS / 4)
    this.pump()
  }

  stop (): void {
    this.running = false
    if (this.stallTimer !== undefined) clearInterval(this.stallTimer)
  }

  close (): void {
    this.stop()
    for (const publisher of this.publishers) publisher.client.destroy()
    for (const subscriber of this.subscribers) subscriber.destroy()
  }

  private checkStall (): void {
    const now = Date.now()
    if (this.delivered !== this.lastDelivered) {
      this.lastDelivered = this.delivered
      this.lastProgress = now
      return
    }
    if (now - this.lastProgress < STALL_MS || !this.running) return
    // Nothing arrived for a while: whatever is outstanding was dropped. Count it and go on.
    const fanout = this.plan.subscribers
    const outstanding = this.sent - Math.floor(this.delivered / fanout)
    this.dropped += outstanding
    this.sent -= outstanding
    for (const publisher of this.publishers) publisher.inflight = 0
    this.lastProgress = now
    this.pump()
  }

  private readonly pump = (): void => {
    if (!this.running) return
    const { plan, publishers } = this
    const fanout = plan.subscribers
    const count = publishers.length
    let idle = 0
    while (idle < count) {
      const room = plan.window - (this.sent - Math.floor(this.delivered / fanout))
      if (room <= 0) return
      const publisher = publishers[this.turn] as Publisher
      this.turn = (this.turn + 1) % count
      let n = Math.min(BATCH, room)
      if (plan.qos > 0) n = Math.min(n, plan.inflightPerPublisher - publisher.inflight, IDS - publisher.nextId + 1)
      if (publisher.blocked || n <= 0) {
        idle++
        continue
      }
      idle = 0
      const bytes = plan.qos > 0 ? publisher.run.slice(publisher.nextId, n) : publisher.run.slice(1, n)
      if (plan.qos > 0) {
        publisher.inflight += n
        publisher.nextId = publisher.nextId + n > IDS ? 1 : publisher.nextId + n
      }
      this.sent += n
      if (!publisher.client.write(bytes)) publisher.blocked = true
    }
  }
}
