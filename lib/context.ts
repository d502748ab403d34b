// What connections and packet handlers may use of the broker: a narrow, typed surface instead of
// the Broker class itself.
import type { LoginThrottle } from './auth/login-throttle'
import type { Connection } from './connection/connection'
import type { PacketDecoder } from './codec/decoder'
import type { PublishEncoder } from './codec/publish-codec'
import type { DisconnectReason } from './events'
import type { RetainedStore } from './retained/retained'
import type { SessionHost } from './session/host'
import type { SessionRegistry } from './session/registry'

/** The cluster's answer to "is there a session for this client?" before CONNACK (lib/cluster/link.ts). */
export interface SessionLookup {
  /** True or false as the cluster says; undefined when it could not say in time (the node answers from what it knows, and logs it). */
  heldInCluster (clientId: string): Promise<boolean | undefined>
}

/**
 * Options, logger, auth, counters, router, store (retained messages and what sessions keep beyond
 * a connection), events and dispatchMessage come from SessionHost; the rest is here.
 */
export interface BrokerContext extends SessionHost {
  /** The store that holds a topic's retained message, or that a filter's retained messages come from. */
  retainedFor (topicOrFilter: string): RetainedStore
  readonly decoder: PacketDecoder
  readonly encoder: PublishEncoder
  /** The session lifecycle: sessions and connected clients, reached through its operations. */
  readonly sessions: SessionRegistry
  /** Largest packet the framer accepts from a client: max_packet_size, within message_size_limit plus room for topic and properties. */
  readonly maxInboundPacketBytes: number
  /** CONNECTs accepted for authentication and not yet answered: they count towards max_connections. */
  authenticating: number
  /** Connected clients per listener (ListenerOptions object), for each listener's max_connections. */
  readonly listenerClients: Map<object, number>
  /** Slows down repeated failed logins from one address. */
  readonly loginThrottle: LoginThrottle
  /** Set while the broker runs in a cluster: where a persistent session may be kept beyond this node. */
  readonly sessionLookup: SessionLookup | undefined
  /** Reports a failure that did not stop the broker (a hook that threw, an internal error). */
  reportError (error: Error, clientId?: string): void
  /** Batches a connection's writes until the end of this tick. */
  scheduleUncork (connection: Connection): void
  /** Called once by a connection when it closes, whatever the reason. */
  connectionClosed (connection: Connection, reason: DisconnectReason): void
}
