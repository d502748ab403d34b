// Keepalive from the client's side: PINGREQ when nothing was sent for the keepalive period
// [MQTT-3.1.2-23], and a connection that does not answer it in time counts as dead (MQTT 3.1.1,
// 3.1.2.10: the client "SHOULD close the Network Connection"). One timer, re-armed by itself:
// writes and reads only record a time.

export class Keepalive {
  private lastSentMs = 0
  /** When the unanswered PINGREQ went out; 0 while none is outstanding. */
  private pingSentMs = 0
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly intervalMs: number, private readonly timeoutMs: number,
    private readonly sendPing: () => void, private readonly onDead: () => void) {}

  start (): void {
    this.stop()
    if (this.intervalMs <= 0) return
    this.lastSentMs = Date.now()
    this.pingSentMs = 0
    this.arm(this.intervalMs)
  }

  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Any packet written. */
  sent (): void { this.lastSentMs = Date.now() }

  /** Any packet from the server shows the connection alive, PINGRESP included. */
  received (): void { this.pingSentMs = 0 }

  private arm (delayMs: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(delayMs, 1))
  }

  private check (): void {
    this.timer = undefined
    const now = Date.now()
    if (this.pingSentMs !== 0) {
      const waitedMs = now - this.pingSentMs
      if (waitedMs >= this.timeoutMs) {
        this.onDead()
        return
      }
      this.arm(this.timeoutMs - waitedMs)
      return
    }
    const idleMs = now - this.lastSentMs
    if (idleMs < this.intervalMs) {
      this.arm(this.intervalMs - idleMs)
      return
    }
    this.pingSentMs = now
    this.sendPing()
    this.arm(Math.min(this.timeoutMs, this.intervalMs))
  }
}
