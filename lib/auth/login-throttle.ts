// Slows down password guessing: after a few failed logins from one address, each further
// refusal from that address waits before its CONNACK, twice as long each time up to a bound.
// The wait is a timer, never a blocked loop: other clients are served meanwhile, and the
// socket stays bounded by connect_timeout. A successful login from the address forgets it, and
// so do ten quiet minutes.
//
// The table is bounded: past MAX_ADDRESSES the address that failed longest ago is forgotten
// (a Map iterates in insertion order, and each failure re-inserts its address at the end), so a
// flood from many addresses costs a fixed amount of memory.

/** Failed logins answered at once: a mistyped password is not an attack. */
export const FREE_FAILURES = 3
/** The wait after the first failure past the free ones; it doubles with each failure after. */
export const FIRST_DELAY_MS = 250
/** The longest wait before a refusal (well under the default connect_timeout of 10 s). */
export const MAX_DELAY_MS = 4000
/** Quiet time after which an address's failures are forgotten. */
export const FORGET_AFTER_MS = 10 * 60_000
/** Addresses remembered at once. */
export const MAX_ADDRESSES = 10_000

interface Failures {
  count: number
  lastMs: number
}

/** The wait before refusing the `count`th failed login in a row from one address. */
export function refusalDelayMs (count: number): number {
  if (count <= FREE_FAILURES) return 0
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(count - FREE_FAILURES - 1, 16))
}

export class LoginThrottle {
  private readonly failures = new Map<string, Failures>()

  constructor (private readonly now: () => number = Date.now) {}

  /** Addresses remembered now. */
  get size (): number { return this.failures.size }

  /** Records a failed login from `address`; returns how long to wait before refusing it, in ms. */
  failed (address: string): { delayMs: number, count: number } {
    const now = this.now()
    let entry = this.failures.get(address)
    if (entry !== undefined) this.failures.delete(address)
    if (entry === undefined || now - entry.lastMs > FORGET_AFTER_MS) entry = { count: 0, lastMs: now }
    entry.count++
    entry.lastMs = now
    this.failures.set(address, entry)
    if (this.failures.size > MAX_ADDRESSES) {
      const oldest = this.failures.keys().next().value as string
      this.failures.delete(oldest)
    }
    return { delayMs: refusalDelayMs(entry.count), count: entry.count }
  }

  /** A login from `address` succeeded: its past failures no longer count. */
  succeeded (address: string): void {
    this.failures.delete(address)
  }
}
