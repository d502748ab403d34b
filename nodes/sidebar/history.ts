// Per-broker history for the editor's Roost sidebar: every few seconds, PUBLISH messages per
// second in and out and the connected clients, kept for the last minutes in a fixed ring.
import type { Broker } from '../../lib'

export interface HistorySample {
  /** ms since the epoch */
  at: number
  messagesInPerSec: number
  messagesOutPerSec: number
  connections: number
}

export const SAMPLE_EVERY_MS = 5000
/** Ten minutes of samples. */
export const HISTORY_LENGTH = 120

export class BrokerHistory {
  private readonly ring: HistorySample[] = []
  private previous: { at: number, received: number, sent: number }
  private readonly timer: NodeJS.Timeout

  constructor (private readonly broker: Broker, private readonly now: () => number = Date.now) {
    this.previous = { at: now(), received: broker.stats.publishReceived, sent: broker.stats.publishSent }
    this.ring.push({ at: this.previous.at, messagesInPerSec: 0, messagesOutPerSec: 0, connections: broker.clientCount })
    this.timer = setInterval(() => { this.sample() }, SAMPLE_EVERY_MS)
    // The history is for looking at: it must never keep Node-RED running.
    this.timer.unref()
  }

  /** Takes one sample now (the timer calls it; tests may too). */
  sample (): HistorySample {
    const at = this.now()
    const { publishReceived, publishSent } = this.broker.stats
    const seconds = Math.max(0.001, (at - this.previous.at) / 1000)
    const sample: HistorySample = {
      at,
      messagesInPerSec: Math.max(0, (publishReceived - this.previous.received) / seconds),
      messagesOutPerSec: Math.max(0, (publishSent - this.previous.sent) / seconds),
      connections: this.broker.clientCount
    }
    this.previous = { at, received: publishReceived, sent: publishSent }
    this.ring.push(sample)
    if (this.ring.length > HISTORY_LENGTH) this.ring.shift()
    return sample
  }

  samples (): HistorySample[] { return this.ring.map((sample) => ({ ...sample })) }

  stop (): void { clearInterval(this.timer) }
}
