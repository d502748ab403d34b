// One authorizer: authentication and authorization hooks the broker asks. The broker's own
// rules (the users table) and whoever embeds it answer through this same interface, chained in
// AuthChain (built-in first, the embedder's after).
//
// Every hook is optional, and every answer may be "no opinion" (undefined): the next authorizer
// in the chain decides, and when nobody has an opinion the broker's defaults apply
// (`allow_anonymous` for a CONNECT, allowed for publish, subscribe and delivery).
// A deny (false, or a refusing CONNACK code) ends the chain: an authorizer can add a
// restriction, never lift another's. A hook that throws denies, with its error logged.
import type { ClientInfo, QoS } from '../types'

export interface AuthenticateRequest {
  clientId: string
  username?: string
  password?: Buffer
  remoteAddress?: string
  /** Position in `options.listeners` of the listener the client came in on; unset for streams handed over by code. */
  listenerIndex?: number
}

/** The chain's decision: true (or 0) accepts; false refuses as "bad user name or password"; a number is a CONNACK reason code. */
export type AuthenticateResult = boolean | number

/** One authorizer's answer to a CONNECT: a decision, or undefined for no opinion. */
export type AuthenticateAnswer = AuthenticateResult | undefined

/** One step of MQTT 5 enhanced authentication (MQTT 5.0, 4.12). */
export interface EnhancedAuthRequest {
  clientId: string
  username?: string
  remoteAddress?: string
  method: string
  /** Authentication Data of the CONNECT or AUTH packet of this step. */
  data?: Buffer
  /** 0 for the CONNECT (or a re-authentication's first AUTH), one more for each AUTH after it. */
  step: number
  /** True when a connected client re-authenticates (AUTH with reason 0x19). */
  reauthenticate: boolean
}

export type EnhancedAuthResult =
  | { outcome: 'success', data?: Buffer }
  | { outcome: 'continue', data?: Buffer }
  | { outcome: 'fail', reasonCode?: number }

export interface Auth {
  /** Methods `authenticateEnhanced` handles; a CONNECT naming any other is refused with 0x8C. */
  enhancedAuthMethods?: readonly string[]
  /** Runs one step of an MQTT 5 enhanced authentication exchange (only the authorizer that lists the method is asked). */
  authenticateEnhanced? (request: EnhancedAuthRequest): EnhancedAuthResult | Promise<EnhancedAuthResult>
  /** Decides whether a CONNECT is accepted, or has no opinion. May be async (password hashing, a remote service). */
  authenticate? (request: AuthenticateRequest): AuthenticateAnswer | Promise<AuthenticateAnswer>
  /** May this client publish to this topic? Called for every PUBLISH and will: keep it synchronous and fast. */
  authorizePublish? (client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean | undefined
  /** The QoS to grant for a subscription, false to refuse it (SUBACK 0x80, or 0x87 on MQTT 5), or undefined. */
  authorizeSubscribe? (client: ClientInfo, filter: string, qos: QoS): QoS | false | undefined
  /**
   * May this client receive messages on this topic (read access)? Asked once per subscriber and
   * topic, then remembered until `broker.authorizationChanged()`: live, retained and queued
   * messages alike. Synchronous.
   */
  authorizeDelivery? (client: ClientInfo, topic: string): boolean | undefined
}
