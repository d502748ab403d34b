// The soak's bookkeeping of tracked messages: every payload carries `soak:<publisher>:<seq>:`, a
// publisher notes each QoS 1/2 message once its PUBACK/PUBCOMP arrives, and each healthy
// subscriber (or shared-subscription group) notes what it received. A message acknowledged to its
// publisher is owed to every healthy subscriber whose filter matches it; one not delivered is
// lost, and one delivered twice at QoS 2 is a duplicate [MQTT-4.3.3-2].
import { parseSharedFilter } from '../../lib/topics/shared'
import { topicMatches } from '../../lib/topics/validate'

const HEADER = 'soak:'
/** Marks payloads of packets over max_packet_size: none may ever be delivered. */
export const OVERSIZE_HEADER = 'oversize:'

/** A growable array of small counts indexed by sequence number. */
class Counts {
  private data = new Uint8Array(1024)

  get (seq: number): number {
    return seq < this.data.length ? this.data[seq] as number : 0
  }

  /** Adds one (saturating at 255) and returns the new count. */
  add (seq: number): number {
    this.room(seq)
    const count = Math.min(255, (this.data[seq] as number) + 1)
    this.data[seq] = count
    return count
  }

  set (seq: number, value: number): void {
    this.room(seq)
    this.data[seq] = value
  }

  private room (seq: number): void {
    if (seq < this.data.length) return
    let length = this.data.length
    while (length <= seq) length *= 2
    const grown = new Uint8Array(length)
    grown.set(this.data)
    this.data = grown
  }
}

interface PublisherEntry {
  /** Client id of the publisher. */
  name: string
  /** The one topic it publishes on. */
  topic: string
  /** Sequence number of its next message. */
  nextSeq: number
  /** The QoS of each acknowledged message by sequence number; 0 while not acknowledged. */
  acked: Counts
}

export interface SubscriberEntry {
  /** The subscriber's (or group's) name in losses reported. */
  name: string
  /** The filter without any `$share/<group>/` prefix. */
  filter: string
  /** Deliveries per publisher index, by sequence number. */
  received: Map<number, Counts>
  /** Soak payloads received, repeats included. */
  delivered: number
  /** QoS 2 deliveries of a message it already had. */
  duplicates: number
  /** Payloads without a soak header (none expected on the soak's topics). */
  foreign: number
}

export interface LedgerTotals {
  /** Tracked messages published, any QoS. */
  sent: number
  /** QoS 1/2 messages whose PUBACK/PUBCOMP reached their publisher. */
  acked: number
  /** Deliveries owed to healthy subscribers by acknowledged messages. */
  owed: number
  /** Soak payloads (any QoS) that reached healthy subscribers; a QoS 1 message may arrive twice. */
  delivered: number
  /** Owed deliveries that never arrived. */
  lost: number
  /** QoS 2 messages delivered more than once to one subscriber or group. */
  duplicates: number
  /** Messages over max_packet_size that reached a subscriber. */
  oversizedDelivered: number
  /** The first few losses, `subscriber missed publisher#seq`. */
  lostExamples: string[]
}

export class Ledger {
  private readonly publishers: PublisherEntry[] = []
  private readonly subscribers: SubscriberEntry[] = []
  private sent = 0
  private ackedCount = 0
  private oversizedDelivered = 0

  /** Registers a publisher of one topic; returns its index for payload() and acked(). */
  addPublisher (name: string, topic: string): number {
    this.publishers.push({ name, topic, nextSeq: 0, acked: new Counts() })
    return this.publishers.length - 1
  }

  /** Registers a healthy subscriber (or a whole shared-subscription group) that is owed every match. */
  addSubscriber (name: string, filter: string): SubscriberEntry {
    const shared = parseSharedFilter(filter)
    const entry: SubscriberEntry = {
      name,
      filter: typeof shared === 'object' ? shared.filter : filter,
      received: new Map(),
      delivered: 0,
      duplicates: 0,
      foreign: 0
    }
    this.subscribers.push(entry)
    return entry
  }

  /** The next message of a publisher: its sequence number and a payload of at least `bytes`. */
  payload (publisher: number, bytes: number): { seq: number, payload: Buffer } {
    const entry = this.publishers[publisher] as PublisherEntry
    const seq = entry.nextSeq++
    this.sent++
    const header = `${HEADER}${publisher}:${seq}:`
    const payload = Buffer.allocUnsafe(Math.max(bytes, header.length))
    payload.fill(0x2e, header.length)
    payload.write(header, 0, 'latin1')
    return { seq, payload }
  }

  /** A publisher received the PUBACK (QoS 1) or PUBCOMP (QoS 2) of a message. */
  acked (publisher: number, seq: number, qos: 1 | 2): void {
    ;(this.publishers[publisher] as PublisherEntry).acked.set(seq, qos)
    this.ackedCount++
  }

  topicOf (publisher: number): string {
    return (this.publishers[publisher] as PublisherEntry).topic
  }

  /** A subscriber received a PUBLISH with this payload at this QoS. */
  received (entry: SubscriberEntry, payload: Buffer, qos: number): void {
    const head = payload.toString('latin1', 0, 32)
    if (head.startsWith(OVERSIZE_HEADER)) {
      this.oversizedDelivered++
      return
    }
    const match = /^soak:(\d+):(\d+):/.exec(head)
    if (match === null) {
      entry.foreign++
      return
    }
    const publisher = Number(match[1])
    let counts = entry.received.get(publisher)
    if (counts === undefined) {
      counts = new Counts()
      entry.received.set(publisher, counts)
    }
    entry.delivered++
    if (counts.add(Number(match[2])) > 1 && qos === 2) entry.duplicates++
  }

  /** Compares what was acknowledged with what arrived. Cheap enough to call once a second. */
  totals (): LedgerTotals {
    const totals: LedgerTotals = {
      sent: this.sent,
      acked: this.ackedCount,
      owed: 0,
      delivered: 0,
      lost: 0,
      duplicates: 0,
      oversizedDelivered: this.oversizedDelivered,
      lostExamples: []
    }
    for (const subscriber of this.subscribers) {
      totals.delivered += subscriber.delivered
      totals.duplicates += subscriber.duplicates
      this.publishers.forEach((publisher, index) => {
        if (!topicMatches(subscriber.filter, publisher.topic)) return
        const received = subscriber.received.get(index)
        for (let seq = 0; seq < publisher.nextSeq; seq++) {
          const qos = publisher.acked.get(seq)
          if (qos === 0) continue
          totals.owed++
          if ((received?.get(seq) ?? 0) > 0) continue
          totals.lost++
          if (totals.lostExamples.length < 10) totals.lostExamples.push(`${subscriber.name} missed ${publisher.name}#${seq} (QoS ${qos})`)
        }
      })
    }
    return totals
  }

  /** Payloads without a soak header, by subscriber (for the summary). */
  foreign (): number {
    return this.subscribers.reduce((sum, subscriber) => sum + subscriber.foreign, 0)
  }
}
