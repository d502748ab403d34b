// The shape of the engine's MQTT client (lib/client) as the remote transport uses it:
// createClient(options) → connect() → events, publish/subscribe/unsubscribe promises, end().
// Declared structurally so the transport depends on the contract, not on one implementation.
import type { Logger, PublishProperties, QoS } from '../../lib'

export interface ClientMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties?: PublishProperties
}

export interface ClientWill extends ClientMessage {}

export interface ClientOptions {
  host: string
  port: number
  /** Options for tls.connect(); plain TCP when absent. */
  tls?: Record<string, unknown>
  clientId?: string
  username?: string
  password?: string
  keepaliveSec: number
  /** Clean session (3.1.1) or clean start (5). */
  cleanSession: boolean
  protocolVersion: 3 | 4 | 5
  will?: ClientWill
  /** First pause before reconnecting; the client grows it on repeated failures. */
  reconnectPeriodMs: number
  connectTimeoutMs: number
  properties?: Record<string, unknown>
  logger?: Logger
}

export interface ClientSubscription {
  filter: string
  qos: QoS
  noLocal?: boolean
  retainAsPublished?: boolean
  retainHandling?: 0 | 1 | 2
}

export interface ClientEvents {
  connect: [{ sessionPresent: boolean }]
  close: []
  offline: []
  /** The next attempt is scheduled (the engine says when; other clients may not). */
  reconnecting: [{ attempt: number, delayMs: number }?]
  error: [Error]
  message: [ClientMessage]
}

export interface EngineClient {
  connect: () => unknown
  on: <K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void) => unknown
  off: <K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void) => unknown
  publish: (message: ClientMessage) => Promise<unknown>
  subscribe: (subscriptions: ClientSubscription[]) => Promise<unknown>
  unsubscribe: (filters: string[]) => Promise<unknown>
  end: () => Promise<unknown>
}

export type EngineClientFactory = (options: ClientOptions) => EngineClient
