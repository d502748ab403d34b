// The broker's authorizers in order (built-in first, the embedder's hooks after), asked as one.
// Each may allow, deny or have no opinion (see auth.ts): the first deny decides; otherwise the
// answer is allowed when someone allowed, and the default when nobody had an opinion.
import { ReasonCode } from '../errors'
import type { ClientInfo, QoS } from '../types'
import type { Auth, AuthenticateAnswer, AuthenticateRequest, AuthenticateResult, EnhancedAuthRequest, EnhancedAuthResult } from './auth'
import { DeliveryGate } from './delivery'

/** What the broker decides when no authorizer has an opinion about a CONNECT. */
export type DefaultAuthentication = (request: AuthenticateRequest) => AuthenticateResult

/** An authorizer threw (or answered what it may not): logged and reported by the broker. */
export type AuthorizerFailed = (error: Error, clientId: string) => void

type Method = 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeDelivery'

export class AuthChain {
  /**
   * Bumped when authorization rules change (rulesChanged()); delivery answers remembered under
   * an older generation are asked again.
   */
  generation = 0
  /** Remembers authorizeDelivery answers; undefined when no authorizer has read rules, so delivery costs nothing. */
  readonly deliveryGate: DeliveryGate | undefined
  private readonly authenticators: readonly Auth[]
  private readonly publishRules: readonly Auth[]
  private readonly subscribeRules: readonly Auth[]
  private readonly deliveryRules: readonly Auth[]

  constructor (private readonly authorizers: readonly Auth[], private readonly fallback: DefaultAuthentication,
    private readonly onFailure: AuthorizerFailed) {
    const having = (method: Method): Auth[] => authorizers.filter((auth) => typeof auth[method] === 'function')
    this.authenticators = having('authenticate')
    this.publishRules = having('authorizePublish')
    this.subscribeRules = having('authorizeSubscribe')
    this.deliveryRules = having('authorizeDelivery')
    this.deliveryGate = this.deliveryRules.length > 0 ? new DeliveryGate(this) : undefined
  }

  /** The rules changed (an ACL file reloaded, a hook's table edited): forget remembered delivery answers. */
  rulesChanged (): void {
    this.generation = (this.generation + 1) | 0
  }

  /**
   * Asks every authenticator in turn; answers synchronously when they all do. Throws (or
   * rejects) with the error of an authenticator that failed: the caller refuses and logs it.
   */
  authenticate (request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult> {
    return this.authenticateFrom(0, request, false)
  }

  private authenticateFrom (start: number, request: AuthenticateRequest, allowed: boolean): AuthenticateResult | Promise<AuthenticateResult> {
    const list = this.authenticators
    for (let i = start; i < list.length; i++) {
      const answer = (list[i] as Required<Auth>).authenticate(request)
      if (isThenable(answer)) {
        return Promise.resolve(answer).then((settled) => {
          if (isRefusal(settled)) return settled as AuthenticateResult
          return this.authenticateFrom(i + 1, request, allowed || isAcceptance(settled))
        })
      }
      if (isRefusal(answer)) return answer as AuthenticateResult
      if (isAcceptance(answer)) allowed = true
    }
    return allowed ? true : this.fallback(request)
  }

  /** Methods some authorizer handles through MQTT 5 enhanced authentication. */
  supportsEnhancedMethod (method: string): boolean {
    return this.enhancedAuthorizer(method) !== undefined
  }

  /** One step of an enhanced authentication, answered by the authorizer that lists its method. */
  authenticateEnhanced (request: EnhancedAuthRequest): EnhancedAuthResult | Promise<EnhancedAuthResult> {
    const authorizer = this.enhancedAuthorizer(request.method)
    if (authorizer === undefined) return { outcome: 'fail', reasonCode: ReasonCode.BadAuthenticationMethod }
    return (authorizer as Required<Auth>).authenticateEnhanced(request)
  }

  private enhancedAuthorizer (method: string): Auth | undefined {
    return this.authorizers.find((auth) => auth.authenticateEnhanced !== undefined && (auth.enhancedAuthMethods ?? []).includes(method))
  }

  /** May this client publish this message? On every PUBLISH and will. */
  authorizePublish (client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean {
    const list = this.publishRules
    for (let i = 0; i < list.length; i++) {
      let answer: unknown
      try {
        answer = (list[i] as Required<Auth>).authorizePublish(client, topic, qos, retain)
      } catch (error) {
        return this.failed(error, client)
      }
      if (answer === false) return false
      if (answer !== true && answer !== undefined) return this.failed(badAnswer('authorizePublish', answer), client)
    }
    return true
  }

  /** The QoS to grant (never above `qos`), or false when an authorizer refuses the filter. */
  authorizeSubscribe (client: ClientInfo, filter: string, qos: QoS): QoS | false {
    let granted = qos
    const list = this.subscribeRules
    for (let i = 0; i < list.length; i++) {
      let answer: unknown
      try {
        answer = (list[i] as Required<Auth>).authorizeSubscribe(client, filter, granted)
      } catch (error) {
        return this.failed(error, client)
      }
      if (answer === false) return false
      if (answer === 0 || answer === 1 || answer === 2) {
        // The server may grant a lower QoS than requested, never a higher one (MQTT 5.0, 3.9.3).
        if (answer < granted) granted = answer
      } else if (answer !== undefined) {
        return this.failed(badAnswer('authorizeSubscribe', answer), client)
      }
    }
    return granted
  }

  /** May this client receive a message on this topic? Through deliveryGate, once per subscriber and topic. */
  authorizeDelivery (client: ClientInfo, topic: string): boolean {
    const list = this.deliveryRules
    for (let i = 0; i < list.length; i++) {
      let answer: unknown
      try {
        answer = (list[i] as Required<Auth>).authorizeDelivery(client, topic)
      } catch (error) {
        return this.failed(error, client)
      }
      if (answer === false) return false
      if (answer !== true && answer !== undefined) return this.failed(badAnswer('authorizeDelivery', answer), client)
    }
    return true
  }

  /** A hook that fails denies: a broken ACL service must neither crash the broker nor grant access. */
  private failed (error: unknown, client: ClientInfo): false {
    this.onFailure(error instanceof Error ? error : new Error(String(error)), client.clientId)
    return false
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}

/** true, or the CONNACK code 0 ("accepted", MQTT 3.1.1, 3.2.2.3). */
function isAcceptance (answer: AuthenticateAnswer): boolean {
  return answer === true || answer === 0
}

/** Anything but acceptance or no opinion refuses: an answer the broker cannot read fails closed. */
function isRefusal (answer: unknown): boolean {
  return answer !== true && answer !== 0 && answer !== undefined && answer !== null
}

function badAnswer (method: Method, answer: unknown): Error {
  const what = isThenable(answer) ? 'a promise' : typeof answer
  return new Error(`${method} answered ${what}; it must answer synchronously with the values its type allows, or undefined`)
}
