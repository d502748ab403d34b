// When to try again: the first delay is the reconnect period, each failure doubles it up to the
// maximum, and a connection that reached CONNACK starts the sequence over.

export class Backoff {
  private attempt = 0
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly firstMs: number, private readonly maxMs: number) {}

  get enabled (): boolean { return this.firstMs > 0 }
  get pending (): boolean { return this.timer !== undefined }

  /** Schedules `retry`; returns the attempt number and delay, or undefined when reconnecting is off. */
  schedule (retry: () => void): { attempt: number, delayMs: number } | undefined {
    if (!this.enabled) return undefined
    this.cancel()
    this.attempt++
    const delayMs = Math.min(this.firstMs * 2 ** Math.min(this.attempt - 1, 30), Math.max(this.maxMs, this.firstMs))
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
