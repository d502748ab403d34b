// What the session lifecycle needs from the broker and from a client's connection: two narrow
// interfaces, so lib/session depends on neither the broker core nor the connection class.
import type { AuthChain } from '../auth/chain'
import type { BrokerEvents, DisconnectReason, TypedEmitter } from '../events'
import type { Logger } from '../logger'
import type { BrokerOptions } from '../options'
import type { Router } from '../router'
import type { Store } from '../store/store'
import type { BrokerStats } from '../sys/stats'
import type { Arrival } from '../transport/arrival'
import type { ClientInfo, Message } from '../types'
import type { Session } from './session'

/** What the lifecycle uses of the broker; BrokerContext extends it. */
export interface SessionHost {
  readonly options: BrokerOptions
  readonly logger: Logger
  /** The authorizers, asked as one: authenticate, publish, subscribe, delivery. */
  readonly auth: AuthChain
  readonly stats: BrokerStats
  readonly router: Router
  /** Retained messages and what sessions keep beyond a connection. */
  readonly store: Store
  readonly events: TypedEmitter<BrokerEvents>
  /** Stores (when retained) and routes a message the admission step let in (routing/admit.ts); returns the deliveries made. */
  dispatchMessage (message: Message): Promise<void> | undefined
}

/** A client's connection as the lifecycle sees it. */
export interface SessionConnection {
  readonly clientId: string
  /** Clean session (MQTT 3.1.1) or Clean Start (MQTT 5). */
  readonly cleanSession: boolean
  session: Session | null
  /** The Last Will, until it is published or discarded [MQTT-3.1.2-8]. */
  will: Message | undefined
  /** Will Delay Interval in seconds (MQTT 5; 0 otherwise). */
  readonly willDelaySec: number
  /** MQTT 5 DISCONNECT with reason 0x04: a normal close that still publishes the will. */
  readonly disconnectWithWill: boolean
  readonly info: ClientInfo
  /** The listener it came in on (takeovers and per-listener limits compare them). */
  readonly arrival: Arrival
  /** When CONNECT was accepted, ms since the epoch. */
  readonly connectedAtMs: number
  closeWithReason (reasonCode: number, reason: DisconnectReason): void
}
