// MQTT 5 enhanced authentication from the client's side (MQTT 5.0, 4.12; AUTH packet 3.15):
// CONNECT names a method, the server challenges with AUTH 0x18 and the caller's callback answers
// each; CONNACK ends the exchange. Once connected, reauthenticate() runs it again with AUTH 0x19
// (MQTT 5.0, 4.12.1) and AUTH 0x00 ends it.
//
// AUTH from the server is read here, not by mqtt-packet: its parser refuses an AUTH whose
// remaining length is 0, which the spec allows and reads as reason code 0x00 with no properties
// (MQTT 5.0, 3.15.2.1).
import type mqttPacket from 'mqtt-packet'
import { readProperties } from '../codec/properties'
import { ProtocolError, ReasonCode } from '../errors'
import { ClientError } from './errors'
import { encode } from './packets'

/** One AUTH 0x18 from the server, for the callback that answers it. */
export interface AuthChallenge {
  /** The server's Authentication Data (MQTT 5.0, 3.15.2.2.3). */
  data: Buffer | undefined
  /** 1 for the first challenge of an exchange, one more for each after it. */
  step: number
  /** True while a connected client re-authenticates. */
  reauthenticate: boolean
  /** The server's Reason String, when it sent one. */
  reasonString?: string
}

export interface EnhancedAuthOptions {
  /** The Authentication Method named in CONNECT and in every AUTH (MQTT 5.0, 3.1.2.11.9), e.g. "SCRAM-SHA-256". */
  method: string
  /** Authentication Data for CONNECT, or for the AUTH 0x19 that starts a re-authentication; asked each time (a fresh nonce). */
  initialData?: (reauthenticate: boolean) => Buffer | undefined
  /** Answers the server's AUTH 0x18: its data in, ours out. May be async; a throw or rejection ends the connection. */
  onChallenge: (challenge: AuthChallenge) => Buffer | undefined | Promise<Buffer | undefined>
  /** The server's data in the CONNACK or AUTH 0x00 that ends an exchange (a server proof to check); a throw ends the connection. */
  onSuccess?: (data: Buffer | undefined, reauthenticate: boolean) => void
}

/** What the exchange needs from the client: the connection it answers on. */
export interface AuthLink {
  readonly connected: boolean
  /** Identifies the connection: answers that come back after it is gone are dropped. */
  readonly connectionId: number
  write (packet: Buffer): boolean
  protocolFault (reasonCode: number, why: string): void
}

interface Pending { resolve: () => void, reject: (error: Error) => void, promise: Promise<void> }

/** The Reason Code and properties of an AUTH body; an empty body is Success with none (MQTT 5.0, 3.15.2.1). */
export function readAuth (firstByte: number, body: Buffer): { reasonCode: number, method?: string, data?: Buffer, reasonString?: string } {
  // [MQTT-3.15.1-1] the AUTH fixed header's flags are 0
  if ((firstByte & 0x0f) !== 0) throw new ProtocolError(ReasonCode.MalformedPacket, 'AUTH with reserved flags set')
  if (body.length === 0) return { reasonCode: ReasonCode.Success }
  const reasonCode = body[0] as number
  const values = body.length > 1 ? readProperties(body, 1, body.length, 'auth')[0].values : {}
  const result: { reasonCode: number, method?: string, data?: Buffer, reasonString?: string } = { reasonCode }
  if (typeof values.authenticationMethod === 'string') result.method = values.authenticationMethod
  if (Buffer.isBuffer(values.authenticationData)) result.data = values.authenticationData
  if (typeof values.reasonString === 'string') result.reasonString = values.reasonString
  return result
}

export class EnhancedAuth {
  private step = 0
  private reauth: Pending | undefined

  constructor (readonly options: EnhancedAuthOptions, private readonly link: AuthLink) {}

  /** The CONNECT properties that start the exchange (data only with a method: MQTT 5.0, 3.1.2.11.10). */
  connectProperties (): { authenticationMethod: string, authenticationData?: Buffer } {
    this.step = 0
    const data = this.options.initialData?.(false)
    return data === undefined ? { authenticationMethod: this.options.method } : { authenticationMethod: this.options.method, authenticationData: data }
  }

  /** An AUTH from the server, before CONNACK (`connecting`) or after it. Throws ProtocolError. */
  onAuth (firstByte: number, body: Buffer): void {
    const auth = readAuth(firstByte, body)
    // [MQTT-4.12.0-5] every AUTH carries the method of the CONNECT
    if (auth.method !== this.options.method) throw new ProtocolError(ReasonCode.ProtocolError, `AUTH with method "${String(auth.method)}", not "${this.options.method}"`)
    const reauthenticating = this.reauth !== undefined
    if (auth.reasonCode === ReasonCode.ContinueAuthentication) {
      // A challenge after CONNACK only answers a re-authentication we started (MQTT 5.0, 4.12.1).
      if (this.link.connected && !reauthenticating) throw new ProtocolError(ReasonCode.ProtocolError, 'AUTH 0x18 without a re-authentication')
      this.step++
      this.answer({ data: auth.data, step: this.step, reauthenticate: reauthenticating, ...(auth.reasonString === undefined ? {} : { reasonString: auth.reasonString }) })
      return
    }
    if (auth.reasonCode === ReasonCode.Success && reauthenticating) {
      this.succeeded(auth.data, true)
      const pending = this.reauth as Pending
      this.reauth = undefined
      pending.resolve()
      return
    }
    // Success before CONNACK comes as CONNACK itself; 0x19 is only ever the client's (MQTT 5.0, 3.15.2.1).
    throw new ProtocolError(ReasonCode.ProtocolError, `unexpected AUTH reason 0x${auth.reasonCode.toString(16)}`)
  }

  /** CONNACK 0 ended the exchange: it must carry the method [MQTT-4.12.0-5]; its data goes to onSuccess. Throws ProtocolError. */
  onConnack (properties: { authenticationMethod?: string, authenticationData?: Buffer }): void {
    if (properties.authenticationMethod !== this.options.method) {
      throw new ProtocolError(ReasonCode.ProtocolError, `CONNACK with authentication method "${String(properties.authenticationMethod)}", not "${this.options.method}"`)
    }
    this.succeeded(properties.authenticationData, false)
  }

  /** Starts a re-authentication (AUTH 0x19); resolves on the server's AUTH 0x00. One at a time: a second call joins the first. */
  reauthenticate (): Promise<void> {
    if (this.reauth !== undefined) return this.reauth.promise
    if (!this.link.connected) return Promise.reject(new ClientError('NOT_CONNECTED', 're-authentication needs a connection'))
    let resolve!: () => void
    let reject!: (error: Error) => void
    const promise = new Promise<void>((resolved, rejected) => { resolve = resolved; reject = rejected })
    this.reauth = { resolve, reject, promise }
    this.step = 0
    try {
      this.send(ReasonCode.ReAuthenticate, this.options.initialData?.(true))
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)))
    }
    return promise
  }

  /** The connection ended: a re-authentication under way fails with it. */
  fail (error: Error): void {
    const pending = this.reauth
    this.reauth = undefined
    pending?.reject(error)
  }

  /** Hands the server's final data to onSuccess; a server proof that does not check out ends the connection. */
  private succeeded (data: Buffer | undefined, reauthenticate: boolean): void {
    try {
      this.options.onSuccess?.(data, reauthenticate)
    } catch (error) {
      throw new ProtocolError(ReasonCode.NotAuthorized, `the server's authentication did not check out: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  private answer (challenge: AuthChallenge): void {
    const connection = this.link.connectionId
    const reply = (data: Buffer | undefined): void => {
      if (this.link.connectionId !== connection) return
      this.send(ReasonCode.ContinueAuthentication, data)
    }
    const refuse = (error: unknown): void => {
      if (this.link.connectionId !== connection) return
      // MQTT 5.0, 4.12: a client that cannot go on with the exchange closes the connection.
      this.link.protocolFault(ReasonCode.NotAuthorized, `the authentication callback gave up: ${error instanceof Error ? error.message : String(error)}`)
    }
    let answer: Buffer | undefined | Promise<Buffer | undefined>
    try {
      answer = this.options.onChallenge(challenge)
    } catch (error) {
      refuse(error)
      return
    }
    if (answer instanceof Promise) answer.then(reply, refuse).catch(refuse)
    else reply(answer)
  }

  private send (reasonCode: number, data: Buffer | undefined): void {
    const properties: mqttPacket.IAuthPacket['properties'] = { authenticationMethod: this.options.method }
    if (data !== undefined) properties.authenticationData = data
    this.link.write(encode({ cmd: 'auth', reasonCode, properties } as mqttPacket.IAuthPacket, 5))
  }
}
