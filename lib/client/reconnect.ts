// When to try again: the first delay is the reconnect period, each failure doubles it up to the
// maximum, and a connection that reached CONNACK starts the sequence over.

export class Backoff {
  private attempt = 0
  private timer: NodeJS.Timeout | undefined

  /** `delayFor` replaces the doubling when given (a bridge's jittered backoff). */
  constructor (private readonly firstMs: number, private readonly maxMs: number, private readonly delayFor?: (attempt: number) => number) {}

  get enabled (): boolean { return this.firstMs > 0 }
  get pending (): boolean { return this.timer !== undefined }

  /** Schedules `retry`; returns the attempt number and delay, or undefined when reconnecting is off. */
  schedule (retry: () => void): { attempt: number, delayMs: number } | undefined {
    if (!this.enabled) return undefined
    this.cancel()
    this.attempt++
    const delayMs = this.delayFor !== undefined ? this.delayFor(this.attempt) : Math.min(this.firstMs * 2 ** Math.min(this.attempt - 1, 30), Math.max(this.maxMs, this.firstMs))
    this.timer = setTimeout(() => {
      this.timer = undefined
      retry()
    }, delayMs)
    return { attempt: this.attempt, delayMs }
  }

  /** A connection succeeded. */
  reset (): void { this.attempt = 0 }

  cancel (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
