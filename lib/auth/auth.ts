// Authentication and authorization hooks. The broker asks; whoever embeds it answers.
// Every hook is optional: without one, the broker's own rules (allow_anonymous, users) apply.
import type { ClientInfo, QoS } from '../types'

export interface AuthenticateRequest {
  clientId: string
  username?: string
  password?: Buffer
  remoteAddress?: string
}

/** true accepts; false refuses as "bad user name or password"; a number is a CONNACK reason code. */
export type AuthenticateResult = boolean | number

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
  /** Runs one step of an MQTT 5 enhanced authentication exchange. */
  authenticateEnhanced? (request: EnhancedAuthRequest): EnhancedAuthResult | Promise<EnhancedAuthResult>
  /** Decides whether a CONNECT is accepted. May be async (password hashing, a remote service). */
  authenticate? (request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult>
  /** May this client publish to this topic? Called on the hot path: keep it synchronous and fast. */
  authorizePublish? (client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean
  /** The QoS to grant for a subscription, or false to refuse it (SUBACK 0x80). */
  authorizeSubscribe? (client: ClientInfo, filter: string, qos: QoS): QoS | false
}

/**
 * Runs an authorization hook. A hook that throws denies (the broker fails closed) and its error
 * goes to `onError`: a broken ACL service must neither crash the broker nor grant access.
 */
export function askAuthorizer<T> (ask: () => T, denied: T, onError: (error: Error) => void): T {
  try {
    return ask()
  } catch (error) {
    onError(error instanceof Error ? error : new Error(String(error)))
    return denied
  }
}
