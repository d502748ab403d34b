// What every kind of soak client shares: the broker's port, the seeded random source, named
// counters, and the run's clock. Loops run through every()/after() so one stop() ends them all,
// and a failing step is counted, never thrown at the event loop.
import { seededRandom } from '../../test/engine/bad-input/prng'
import type { Ledger } from './ledger'
import type { SoakOptions } from './options'

/** A finding about the broker's behaviour that fails the run (a refused takeover, an oversized packet acknowledged). */
export type Violation = string

export class SoakContext {
  readonly random: () => number
  /** Named event counts, printed in the summary (`slow: closed by the broker` ...). */
  readonly counters = new Map<string, number>()
  /** Violations by kind, with how often each was seen. */
  readonly violations = new Map<Violation, number>()
  /** True while the load runs; the drain and the checks come after. */
  running = true
  /** True until every client is being closed for good. */
  open = true
  /** Resolves when the load ends. */
  readonly stopped: Promise<void>
  private markStopped: () => void = () => {}
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor (readonly options: SoakOptions, readonly port: number, readonly ledger: Ledger) {
    this.random = seededRandom(options.seed)
    this.stopped = new Promise((resolve) => { this.markStopped = resolve })
  }

  count (name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by)
  }

  violation (what: Violation): void {
    this.violations.set(what, (this.violations.get(what) ?? 0) + 1)
  }

  /** A whole number in [min, max]. */
  between (min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1))
  }

  pick<T> (items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T
  }

  /** Runs `step` every `ms` while the load runs; a step that fails is counted by its message. */
  every (ms: number, step: () => void | Promise<void>): void {
    if (!Number.isFinite(ms) || ms <= 0) return
    const timer = setInterval(() => {
      if (!this.running) return
      this.guard(step)
    }, ms)
    this.timers.add(timer)
  }

  /** Runs `step` once after `ms`, unless every client is being closed by then. */
  after (ms: number, step: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (this.open) this.guard(step)
    }, ms)
    this.timers.add(timer)
  }

  /** Resolves after `ms` (not cut short by close(): every sleep is bounded anyway). */
  sleep (ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms))
  }

  /** Runs a step and counts its failure instead of letting it escape. */
  guard (step: () => void | Promise<void>): void {
    try {
      const result = step()
      if (result instanceof Promise) result.catch((error: unknown) => this.countError(error))
    } catch (error) {
      this.countError(error)
    }
  }

  private countError (error: unknown): void {
    this.count(`generator error: ${error instanceof Error ? error.message : String(error)}`.slice(0, 120))
  }

  /** Ends the load: loops stop starting new steps (clients stay connected for the drain). */
  stopLoad (): void {
    this.running = false
    this.markStopped()
  }

  /** Ends everything: no loop or pending step runs again. */
  close (): void {
    this.stopLoad()
    this.open = false
    for (const timer of this.timers) {
      clearInterval(timer)
    }
    this.timers.clear()
  }
}

/**
 * Spreads a rate over timer ticks by the time that really passed, so a late timer (a busy
 * machine) sends what is due rather than less; at most a second's worth at once.
 */
export class Pacer {
  private credit = 0
  private lastMs = Date.now()

  constructor (private readonly perSecond: number) {}

  /** How many messages are due now. */
  due (): number {
    const now = Date.now()
    this.credit = Math.min(this.perSecond, this.credit + this.perSecond * (now - this.lastMs) / 1000)
    this.lastMs = now
    const whole = Math.floor(this.credit)
    this.credit -= whole
    return whole
  }
}
