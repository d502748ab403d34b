// MQTT 5 enhanced authentication (MQTT 5.0, 4.12; AUTH packet 3.15): a challenge/response
// exchange run by the embedder's `authenticateEnhanced` hook, at CONNECT and again whenever a
// connected client re-authenticates.
import type mqttPacket from 'mqtt-packet'
import type { EnhancedAuthResult } from '../auth/auth'
import type { PropertyValues } from '../codec/properties'
import type { Connection } from '../connection/connection'
import type { V5State } from '../connection/v5-state'
import { ProtocolError, ReasonCode } from '../errors'
import { accept, type ConnectRequest } from './accept'
import { refuse } from './refuse'

export function startEnhancedAuth (conn: Connection, request: ConnectRequest, method: string): void {
  const { auth } = conn.ctx
  const v5 = conn.v5 as V5State
  if (!auth.supportsEnhancedMethod(method)) {
    // [MQTT-4.12.0-1] a method the server does not support: CONNACK 0x8C
    refuse(conn, ReasonCode.BadAuthenticationMethod, `authentication method "${method}" is not supported`)
    return
  }
  v5.authMethod = method
  v5.authStep = 0
  v5.pendingConnect = request
  runStep(conn, v5, request.properties?.connect.values.authenticationData as Buffer | undefined)
}

/** AUTH from the client: the next step of the exchange, or the start of a re-authentication. */
export function handleAuth (conn: Connection, packet: mqttPacket.IAuthPacket, properties: PropertyValues): void {
  const v5 = conn.v5
  if (v5 === undefined) throw new ProtocolError(ReasonCode.MalformedPacket, 'AUTH is an MQTT 5 packet')
  const method = properties.values.authenticationMethod as string | undefined
  // [MQTT-4.12.0-7] AUTH only after a CONNECT that named a method; [MQTT-4.12.1-1] the same method
  if (v5.authMethod === undefined) throw new ProtocolError(ReasonCode.ProtocolError, 'AUTH without enhanced authentication in CONNECT')
  if (method !== v5.authMethod) throw new ProtocolError(ReasonCode.ProtocolError, `AUTH with method "${String(method)}", not "${v5.authMethod}"`)
  const reason = packet.reasonCode ?? 0
  const data = properties.values.authenticationData as Buffer | undefined
  if (conn.state === 'authenticating') {
    if (reason !== ReasonCode.ContinueAuthentication) throw new ProtocolError(ReasonCode.ProtocolError, `AUTH reason 0x${reason.toString(16)} during CONNECT`)
    v5.authStep++
    conn.pauseInput()
    runStep(conn, v5, data)
    return
  }
  if (reason === ReasonCode.ReAuthenticate && !v5.reauthenticating) {
    v5.reauthenticating = true
    v5.authStep = 0
  } else if (reason === ReasonCode.ContinueAuthentication && v5.reauthenticating) {
    v5.authStep++
  } else {
    throw new ProtocolError(ReasonCode.ProtocolError, `unexpected AUTH reason 0x${reason.toString(16)}`)
  }
  runStep(conn, v5, data)
}

function runStep (conn: Connection, v5: V5State, data: Buffer | undefined): void {
  const { auth, logger } = conn.ctx
  const reauthenticate = conn.state === 'connected'
  const request = {
    clientId: conn.clientId,
    username: conn.username,
    remoteAddress: conn.remoteAddress,
    method: v5.authMethod as string,
    data,
    step: v5.authStep,
    reauthenticate
  }
  const finish = (result: EnhancedAuthResult): void => {
    if (conn.state === 'closed') return
    const properties = (extra?: Buffer): Record<string, unknown> => extra === undefined
      ? { authenticationMethod: v5.authMethod }
      : { authenticationMethod: v5.authMethod, authenticationData: extra }
    if (result.outcome === 'continue') {
      conn.sendPacket({ cmd: 'auth', reasonCode: ReasonCode.ContinueAuthentication, properties: properties(result.data) } as mqttPacket.IAuthPacket)
      if (!reauthenticate) conn.resumeInput()
    } else if (result.outcome === 'success') {
      if (reauthenticate) {
        v5.reauthenticating = false
        conn.sendPacket({ cmd: 'auth', reasonCode: ReasonCode.Success, properties: properties(result.data) } as mqttPacket.IAuthPacket)
      } else {
        accept(conn, v5.pendingConnect as ConnectRequest, properties(result.data))
        v5.pendingConnect = undefined
      }
    } else {
      const code = result.reasonCode ?? ReasonCode.NotAuthorized
      if (reauthenticate) {
        logger.notice(`Client ${conn.clientId} failed re-authentication; disconnecting.`)
        conn.closeWithReason(code, 'protocolError')
      } else {
        refuse(conn, code, 'enhanced authentication failed')
      }
    }
  }
  const fail = (error: unknown): void => {
    logger.error(`Enhanced authentication hook failed for ${conn.describe()}: ${error instanceof Error ? error.message : String(error)}.`)
    finish({ outcome: 'fail', reasonCode: ReasonCode.UnspecifiedError })
  }
  let result: EnhancedAuthResult | Promise<EnhancedAuthResult>
  try {
    result = auth.authenticateEnhanced(request)
  } catch (error) {
    fail(error)
    return
  }
  // finish() runs outside the try: an error while accepting is the broker's, not the hook's.
  if (result instanceof Promise) result.then(finish, fail).catch((error: unknown) => { conn.protocolFailure(error) })
  else finish(result)
}
