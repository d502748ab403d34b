// What the statistics clock and the $SYS tree read from the broker: a narrow interface of their
// own, so sys/ depends on nothing of the broker core.
import type { StoreHealth } from '../store/store'
import type { Message } from '../types'
import type { BrokerStats } from './stats'

/** Counts of what the broker holds at one moment. */
export interface BrokerHoldings {
  /** Connected clients. */
  connected: number
  /** Sessions, online and offline. */
  sessions: number
  subscriptions: number
  sharedSubscriptions: number
  /** The users' retained messages. */
  retained: number
  /** Messages held: retained, queued and in flight. */
  storedMessages: number
  /** Payload bytes of the retained and queued messages. */
  storedBytes: number
  /** The disk store's state; undefined with the memory store. */
  disk?: StoreHealth
}

export interface SysSource {
  readonly options: { readonly sysIntervalSec: number }
  readonly stats: BrokerStats
  holdings (): BrokerHoldings
  /** Routes (and retains) one of the tree's messages like any other. */
  dispatchMessage (message: Message): Promise<void> | undefined
}
