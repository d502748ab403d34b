// What connections and packet handlers may use of the broker: a narrow, typed surface instead of
// the Broker class itself.
import type { AuthChain } from './auth/chain'
import type { Connection } from './connection/connection'
import type { PacketDecoder } from './connection/decoder'
import type { PublishEncoder } from './connection/publish-codec'
import type { BrokerEvents, DisconnectReason, TypedEmitter } from './events'
import type { Logger } from './logger'
import type { BrokerOptions } from './options'
import type { RetainedStore } from './retained/retained'
import type { Router } from './router'
import type { Session, SessionLimits } from './session/session'
import type { BrokerStats } from './sys/stats'
import type { Message } from './types'

export interface BrokerContext {
  readonly options: BrokerOptions
  readonly logger: Logger
  /** The authorizers, asked as one: authenticate, publish, subscribe, delivery. */
  readonly auth: AuthChain
  readonly stats: BrokerStats
  readonly router: Router
  readonly retained: RetainedStore
  /** The store that holds a topic's retained message, or that a filter's retained messages come from. */
  retainedFor (topicOrFilter: string): RetainedStore
  readonly events: TypedEmitter<BrokerEvents>
  readonly decoder: PacketDecoder
  readonly encoder: PublishEncoder
  readonly sessionLimits: SessionLimits
  /** Sessions by client id, online and offline. */
  readonly sessions: Map<string, Session>
  /** Connected clients (CONNACK 0 sent) by client id. */
  readonly clients: Map<string, Connection>
  /** Largest packet the framer accepts from a client, derived from message_size_limit. */
  readonly maxInboundPacketBytes: number
  /** CONNECTs accepted for authentication and not yet answered: they count towards max_connections. */
  authenticating: number
  /** Stores (when retained) and routes a message the admission step let in (routing/admit.ts); returns the deliveries made. */
  dispatchMessage (message: Message): number
  /** Ends a session: its delayed will goes out, its subscriptions and queues are dropped. */
  endSession (session: Session): void
  /** Cancels a delayed will (the client is back), or sends it now (`sessionEnds`). */
  settlePendingWill (session: Session, sessionEnds: boolean): void
  /** An authorization hook threw: logs and reports it; the caller treats it as a denial. */
  hookFailed (error: Error, clientId: string): void
  /** Reports a failure that did not stop the broker (a hook that threw, an internal error). */
  reportError (error: Error, clientId?: string): void
  /** Batches a connection's writes until the end of this tick. */
  scheduleUncork (connection: Connection): void
  /** Called once by a connection when it closes, whatever the reason. */
  connectionClosed (connection: Connection, reason: DisconnectReason): void
}
