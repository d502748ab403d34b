// Messages per second of one topic in three numbers: a sliding-window estimate (the last full
// window weighted by how much of it still overlaps the last WINDOW_MS, plus the current one).

export type Clock = () => number

/** The span a rate looks back over. */
export const WINDOW_MS = 5000

export class MessageRate {
  private windowStartMs = 0
  private current = 0
  private previous = 0

  count (now: number): void {
    this.roll(now)
    this.current++
  }

  /** Messages per second over about the last WINDOW_MS. */
  perSecond (now: number): number {
    this.roll(now)
    const elapsed = now - this.windowStartMs
    const previousWeight = Math.max(0, (WINDOW_MS - elapsed) / WINDOW_MS)
    return (this.previous * previousWeight + this.current) / (WINDOW_MS / 1000)
  }

  private roll (now: number): void {
    if (this.windowStartMs === 0) {
      this.windowStartMs = now
      return
    }
    const elapsed = now - this.windowStartMs
    if (elapsed < WINDOW_MS) return
    // A whole window without a message between: nothing of the last one overlaps now.
    this.previous = elapsed < 2 * WINDOW_MS ? this.current : 0
    this.current = 0
    this.windowStartMs = now - (elapsed % WINDOW_MS)
  }
}
