// When and where a bridge tries again. restart_timeout's delay, constant or "decorrelated
// jitter" from base to cap (mosquitto.conf(5)): each delay a random time between the base and
// three times the last one, never over the cap, so many bridges restarting at once spread out.
// And which address: round_robin moves on after every failure; otherwise the first address is
// the main one, the others are tried in turn, and a link that drops starts again at the main one.
import type { BridgeAddress } from './settings'

export class RestartDelay {
  private last: number

  constructor (private readonly baseMs: number, private readonly capMs: number | undefined, private readonly random: () => number = Math.random) {
    this.last = baseMs
  }

  /** The delay before attempt `attempt` (1 after a success or at start). */
  next (attempt: number): number {
    if (this.capMs === undefined) return this.baseMs
    if (attempt <= 1) this.last = this.baseMs
    const upper = Math.max(this.baseMs, this.last * 3)
    this.last = Math.min(this.capMs, this.baseMs + this.random() * (upper - this.baseMs))
    return Math.round(this.last)
  }
}

export class AddressRotation {
  private index = -1
  /** Set when the last attempt reached CONNACK, so the next pick follows a dropped link. */
  private wasConnected = false

  constructor (private readonly addresses: readonly BridgeAddress[], private readonly roundRobin: boolean) {}

  /** The address of the next attempt. */
  pick (): BridgeAddress {
    if (this.index < 0 || (this.wasConnected && !this.roundRobin)) this.index = 0
    else this.index = (this.index + 1) % this.addresses.length
    this.wasConnected = false
    return this.addresses[this.index] as BridgeAddress
  }

  connected (): void { this.wasConnected = true }
}
