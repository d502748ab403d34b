// The bridges of one broker, started with it and stopped with it, and replaced at runtime: a new
// list starts the new bridges, stops the removed ones and restarts only those whose options
// changed; the others keep their link, session and held messages.
import { isDeepStrictEqual } from 'node:util'
import { Bridge } from './bridge'
import type { BridgeHost } from './host'
import type { BridgeOptions } from './options'
import { bridgeSettings } from './settings'
import type { BridgeStatus } from '../events'

interface Running {
  options: BridgeOptions
  bridge: Bridge
}

export class BridgeSet {
  private readonly running = new Map<string, Running>()
  private wanted: readonly BridgeOptions[] = []
  private active = false
  /** Changes are applied one after the other, so two quick edits cannot interleave. */
  private applying: Promise<void> = Promise.resolve()

  constructor (private readonly host: BridgeHost) {}

  get statuses (): BridgeStatus[] {
    return [...this.running.values()].map(({ bridge }) => bridge.status)
  }

  /** Starts the wanted bridges (once the broker is up). */
  start (): Promise<void> {
    this.active = true
    return this.apply()
  }

  /** Replaces the list (already checked); applied at once when the broker is up. */
  replace (bridges: readonly BridgeOptions[]): Promise<void> {
    this.wanted = bridges
    return this.active ? this.apply() : Promise.resolve()
  }

  /** Stops every bridge. */
  stop (): Promise<void> {
    this.active = false
    this.wanted = []
    return this.apply()
  }

  private apply (): Promise<void> {
    this.applying = this.applying.then(() => this.reconcile(), () => this.reconcile())
    return this.applying
  }

  private async reconcile (): Promise<void> {
    const wanted = new Map(this.wanted.map((options) => [options.name, options]))
    const stopping: Array<Promise<void>> = []
    for (const [name, { options, bridge }] of this.running) {
      const next = wanted.get(name)
      if (next !== undefined && isDeepStrictEqual(next, options)) continue
      this.running.delete(name)
      stopping.push(bridge.stop())
    }
    await Promise.all(stopping)
    if (!this.active) return
    for (const [name, options] of wanted) {
      if (this.running.has(name)) continue
      const bridge = new Bridge(bridgeSettings(options), this.host)
      this.running.set(name, { options: structuredClone(options), bridge })
      bridge.start()
    }
  }
}
