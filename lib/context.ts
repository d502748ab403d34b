// What connections and packet handlers may use of the broker: a narrow, typed surface instead of
// the Broker class itself.
import type { Auth } from './auth/auth'
import type { Connection } from './connection/connection'
import type { PacketDecoder } from './connection/decoder'
import type { PublishEncoder } from './connection/publish-codec'
import type { BrokerEvents, DisconnectReason, TypedEmitter } from './events'
import type { Logger } from './logger'
import type { BrokerOptions } from './options'
import type { RetainedStore } from './retained/retained'
import type { Router } from './router'
import type { SessionRegistry } from './session/registry'
import type { Store } from './store/store'
import type { BrokerStats } from './sys/stats'
import type { Message } from './types'

export interface BrokerContext {
  readonly options: BrokerOptions
  readonly logger: Logger
  readonly auth: Auth
  readonly stats: BrokerStats
  readonly router: Router
  /** Retained messages and what sessions keep beyond a connection. */
  readonly store: Store
  /** The store that holds a topic's retained message, or that a filter's retained messages come from. */
  retainedFor (topicOrFilter: string): RetainedStore
  readonly events: TypedEmitter<BrokerEvents>
  readonly decoder: PacketDecoder
  readonly encoder: PublishEncoder
  /** The session lifecycle: sessions and connected clients, reached through its operations. */
  readonly sessions: SessionRegistry
  /** Largest packet the framer accepts from a client, derived from message_size_limit. */
  readonly maxInboundPacketBytes: number
  /** CONNECTs accepted for authentication and not yet answered: they count towards max_connections. */
  authenticating: number
  /** Stores (when retained) and routes a message that passed authorization; returns the deliveries made. */
  dispatchMessage (message: Message): number
  /** An authorization hook threw: logs and reports it; the caller treats it as a denial. */
  hookFailed (error: Error, clientId: string): void
  /** Reports a failure that did not stop the broker (a hook that threw, an internal error). */
  reportError (error: Error, clientId?: string): void
  /** Batches a connection's writes until the end of this tick. */
  scheduleUncork (connection: Connection): void
  /** Called once by a connection when it closes, whatever the reason. */
  connectionClosed (connection: Connection, reason: DisconnectReason): void
}
