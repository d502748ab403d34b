// The bridges of one broker, started with it and stopped with it, and replaced at runtime: a new
// list starts the new bridges, stops the removed ones and restarts only those whose options
// changed; the others keep their link, session and held messages. A restarted bridge takes over
// the queue of the one it replaces; a removed bridge's queue is dropped; at shutdown every queue
// stays in the store, and the next start gives each bridge back its own.
import { isDeepStrictEqual } from 'node:util'
import { Bridge } from './bridge'
import type { BridgeHost } from './host'
import type { BridgeOptions } from './options'
import { OutboundQueue } from './outbound'
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
    const stopped: Bridge[] = []
    for (const [name, { options, bridge }] of this.running) {
      const next = wanted.get(name)
      if (next !== undefined && isDeepStrictEqual(next, options)) continue
      this.running.delete(name)
      stopped.push(bridge)
    }
    await Promise.all(stopped.map((bridge) => bridge.stop()))
    // Shutting down: every queue stays as it is in the store.
    if (!this.active) return
    const handedOn = new Map<string, OutboundQueue>()
    for (const bridge of stopped) {
      if (wanted.has(bridge.name)) handedOn.set(bridge.name, bridge.queue)
      else this.discard(bridge.name, bridge.queue)
    }
    for (const [name, options] of wanted) {
      if (this.running.has(name)) continue
      const queue = handedOn.get(name) ?? new OutboundQueue(name, this.host.journal, this.host.takeStoredQueue(name))
      const bridge = new Bridge(bridgeSettings(options), this.host, queue)
      this.running.set(name, { options: structuredClone(options), bridge })
      bridge.start()
    }
    // Stored for a bridge that is no longer configured: nobody will send them.
    for (const name of this.host.storedQueueNames()) {
      this.discard(name, new OutboundQueue(name, this.host.journal, this.host.takeStoredQueue(name)))
    }
  }

  private discard (name: string, queue: OutboundQueue): void {
    if (queue.messages > 0) this.host.logger.warning(`Bridge ${name} removed: ${queue.messages} messages held for its remote are dropped.`)
    queue.discard()
  }
}
