// CONNECT (MQTT 3.1.1, 3.1; MQTT 5.0, 3.1) as ordered steps: check the header, read the
// identity, check limits, authenticate, take over an older connection, restore or start the
// session, store the will, register, send CONNACK, then resume the session's traffic.
import { randomUUID } from 'node:crypto'
import type mqttPacket from 'mqtt-packet'
import { builtinAuthenticate } from '../auth/builtin'
import type { AuthenticateResult } from '../auth/auth'
import type { Connection } from '../connection/connection'
import { ProtocolError, ReasonCode } from '../errors'
import { Session } from '../session/session'
import { removeAllSubscriptions } from '../session/subscriptions'
import { topicNameProblem } from '../topics/validate'
import type { Message, QoS } from '../types'

/** The longest client id an MQTT 3.1 server must accept, and may enforce (MQTT 3.1, 3.1). */
const MQTT31_MAX_CLIENT_ID = 23

/** MQTT 3.1.1 CONNACK return codes (MQTT 3.1.1, 3.2.2.3) for the MQTT 5 reason codes we refuse with. */
function returnCodeFor (reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.UnsupportedProtocolVersion: return 1
    case ReasonCode.ClientIdentifierNotValid: return 2
    case ReasonCode.ServerUnavailable:
    case ReasonCode.ServerBusy:
    case ReasonCode.QuotaExceeded:
    case ReasonCode.ServerShuttingDown: return 3
    case ReasonCode.BadUserNameOrPassword: return 4
    default: return 5
  }
}

/** MQTT 3.1.1 return codes 1-5 given by an auth hook, as MQTT 5 reason codes. */
const REASON_FOR_RETURN_CODE: Record<number, number> = {
  1: ReasonCode.UnsupportedProtocolVersion,
  2: ReasonCode.ClientIdentifierNotValid,
  3: ReasonCode.ServerUnavailable,
  4: ReasonCode.BadUserNameOrPassword,
  5: ReasonCode.NotAuthorized
}

/**
 * Checks protocol name and level from the raw CONNECT before mqtt-packet parses it, because an
 * unsupported level must be answered with CONNACK 1 [MQTT-3.1.2-2], not a parse error.
 * Returns false when the connection was answered and closed.
 */
export function checkProtocolHeader (conn: Connection, body: Buffer): boolean {
  if (body.length < 3) throw new ProtocolError(ReasonCode.MalformedPacket, 'CONNECT too short')
  const nameLength = body.readUInt16BE(0)
  if (body.length < 3 + nameLength) throw new ProtocolError(ReasonCode.MalformedPacket, 'CONNECT too short for its protocol name')
  const name = body.toString('latin1', 2, 2 + nameLength)
  // Bit 7 of the level marks a bridge (Mosquitto's try_private); the level is the low bits.
  const level = (body[2 + nameLength] as number) & 0x7f
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    // [MQTT-3.1.2-1] an unknown protocol name: close without CONNACK
    throw new ProtocolError(ReasonCode.UnsupportedProtocolVersion, `unknown protocol name "${name}"`)
  }
  if ((name === 'MQTT' && level !== 4 && level !== 5) || (name === 'MQIsdp' && level !== 3)) {
    conn.ctx.logger.notice(`Client ${conn.describe()} refused: unsupported protocol ${name} level ${level}.`)
    // [MQTT-3.1.2-2] CONNACK 0x01, in the 3.1.1 layout that every version can read
    conn.write(Buffer.from([0x20, 0x02, 0x00, 0x01]))
    conn.close('protocolError', true)
    return false
  }
  return true
}

export function handleConnect (conn: Connection, packet: mqttPacket.IConnectPacket): void {
  readIdentity(conn, packet)
  const refusal = checkIdentity(conn) ?? checkLimits(conn)
  if (refusal !== undefined) {
    refuse(conn, refusal[0], refusal[1])
    return
  }
  // Later packets wait until the outcome is known, so nothing is handled before CONNACK.
  conn.state = 'authenticating'
  conn.pauseInput()
  authenticate(conn, packet, (result) => {
    if (conn.state !== 'authenticating') return
    if (result === true) {
      accept(conn, packet)
      return
    }
    const reasonCode = typeof result === 'number' ? (REASON_FOR_RETURN_CODE[result] ?? result) : ReasonCode.BadUserNameOrPassword
    refuse(conn, reasonCode, reasonCode === ReasonCode.NotAuthorized ? 'not authorised' : 'bad username or password')
  })
}

function readIdentity (conn: Connection, packet: mqttPacket.IConnectPacket): void {
  conn.protocolVersion = packet.protocolVersion ?? 4
  conn.cleanSession = packet.clean ?? true
  conn.keepaliveSec = packet.keepalive ?? 0
  conn.username = packet.username
  conn.clientId = packet.clientId ?? ''
  // [MQTT-3.1.2-22] a password without a username is a protocol violation in 3.1.1
  if (packet.password !== undefined && packet.username === undefined && conn.protocolVersion !== 5) {
    throw new ProtocolError(ReasonCode.ProtocolError, 'password flag set without username flag')
  }
  if (packet.will !== undefined) {
    // [MQTT-3.1.2-14] the will topic is a topic name like any PUBLISH's
    const problem = topicNameProblem(packet.will.topic, conn.ctx.options.maxTopicLevels)
    if (problem !== undefined) throw new ProtocolError(ReasonCode.TopicNameInvalid, `will topic ${problem}`)
  }
}

/** Client identifier rules (MQTT 3.1.1, 3.1.3.1) and keepalive limits. */
function checkIdentity (conn: Connection): [number, string] | undefined {
  const { options } = conn.ctx
  if (conn.clientId === '') {
    // [MQTT-3.1.3-8] empty id with clean session 0: identifier rejected; MQTT 3.1 allows no empty id
    if (!conn.cleanSession || conn.protocolVersion === 3) return [ReasonCode.ClientIdentifierNotValid, 'empty client id']
    // [MQTT-3.1.3-6] empty id with clean session 1: the server assigns one
    conn.clientId = `auto-${randomUUID()}`
  } else {
    const limit = conn.protocolVersion === 3 ? Math.min(MQTT31_MAX_CLIENT_ID, options.maxClientIdLength) : options.maxClientIdLength
    if (Buffer.byteLength(conn.clientId) > limit) return [ReasonCode.ClientIdentifierNotValid, `client id longer than ${limit} bytes`]
  }
  // MQTT 3.1.1 cannot tell a client to use a shorter keepalive, so one over the limit is refused.
  if (conn.protocolVersion !== 5 && conn.keepaliveSec > options.maxKeepalive) {
    return [ReasonCode.ClientIdentifierNotValid, `keepalive ${conn.keepaliveSec} over max_keepalive ${options.maxKeepalive}`]
  }
  return undefined
}

function checkLimits (conn: Connection): [number, string] | undefined {
  const { options, clients } = conn.ctx
  const max = options.maxConnections
  // A takeover replaces a client rather than adding one.
  if (max >= 0 && clients.size >= max && !clients.has(conn.clientId)) {
    return [ReasonCode.ServerUnavailable, `max_connections (${max}) reached`]
  }
  return undefined
}

function authenticate (conn: Connection, packet: mqttPacket.IConnectPacket, done: (result: AuthenticateResult) => void): void {
  const { auth, options } = conn.ctx
  const request = {
    clientId: conn.clientId,
    username: packet.username,
    password: packet.password,
    remoteAddress: conn.remoteAddress
  }
  const fail = (error: unknown): void => {
    conn.ctx.logger.error(`Authentication hook failed for ${conn.describe()}: ${error instanceof Error ? error.message : String(error)}.`)
    done(ReasonCode.ServerUnavailable)
  }
  let result: AuthenticateResult | Promise<AuthenticateResult>
  try {
    result = auth.authenticate !== undefined ? auth.authenticate(request) : builtinAuthenticate(options, request)
  } catch (error) {
    fail(error)
    return
  }
  // done() runs outside the try: an error while accepting is the broker's, not the hook's, and
  // goes to the connection's error path (synchronously via the dispatcher, or here when async).
  if (typeof result === 'object' && result !== null && typeof (result as Promise<AuthenticateResult>).then === 'function') {
    (result as Promise<AuthenticateResult>).then(done, fail).catch((error: unknown) => { conn.protocolFailure(error) })
  } else {
    done(result as AuthenticateResult)
  }
}

function refuse (conn: Connection, reasonCode: number, why: string): void {
  const { ctx } = conn
  ctx.logger.notice(`Client ${conn.describe()} refused: ${why}.`)
  ctx.events.emit('clientRefused', { clientId: conn.clientId, username: conn.username, remoteAddress: conn.remoteAddress, reasonCode, reason: why })
  // [MQTT-3.2.2-4] a refused CONNACK has session present 0; then the connection closes [MQTT-3.2.2-5]
  const connack: mqttPacket.IConnackPacket = conn.protocolVersion === 5
    ? { cmd: 'connack', sessionPresent: false, reasonCode }
    : { cmd: 'connack', sessionPresent: false, returnCode: returnCodeFor(reasonCode) }
  conn.sendPacket(connack)
  conn.close('protocolError', true)
}

function accept (conn: Connection, packet: mqttPacket.IConnectPacket): void {
  const { ctx } = conn
  const clientId = conn.clientId
  takeOver(conn)
  const sessionPresent = restoreSession(conn)
  conn.will = willMessage(conn, packet)
  ctx.clients.set(clientId, conn)
  conn.state = 'connected'
  // MQTT 3.1 has no session present flag (MQTT 3.1.1, 3.2.2.2 is new in 3.1.1); MQTT 5 has a
  // reason code where earlier versions have a return code (mqtt-packet refuses the other one).
  conn.sendPacket(conn.protocolVersion === 5
    ? { cmd: 'connack', sessionPresent, reasonCode: ReasonCode.Success }
    : { cmd: 'connack', sessionPresent: conn.protocolVersion === 3 ? false : sessionPresent, returnCode: 0 })
  ctx.stats.connectionsAccepted++
  if (ctx.clients.size > ctx.stats.clientsMaximum) ctx.stats.clientsMaximum = ctx.clients.size
  ctx.logger.notice(`New client connected from ${conn.remoteAddress}:${conn.remotePort} as ${clientId} (p${conn.protocolVersion === 4 ? 2 : conn.protocolVersion === 3 ? 1 : 5}, c${conn.cleanSession ? 1 : 0}, k${conn.keepaliveSec}${conn.username !== undefined ? `, u'${conn.username}'` : ''}).`)
  ctx.events.emit('clientConnected', { ...conn.info, sessionPresent })
  // [MQTT-4.4.0-1] unacknowledged messages are re-sent after CONNACK, then the queue drains
  ;(conn.session as Session).attach(conn)
  conn.startKeepalive()
  conn.resumeInput()
}

/** [MQTT-3.1.4-2] a second connection with the same client id closes the first. */
function takeOver (conn: Connection): void {
  const existing = conn.ctx.clients.get(conn.clientId)
  if (existing === undefined || existing === conn) return
  conn.ctx.logger.notice(`Client ${conn.clientId} already connected, closing old connection.`)
  existing.closeWithReason(ReasonCode.SessionTakenOver, 'takenOver')
}

/** [MQTT-3.1.2-4..6] resume a persistent session or start a new one; returns session present. */
function restoreSession (conn: Connection): boolean {
  const { ctx } = conn
  let session = ctx.sessions.get(conn.clientId)
  if (session !== undefined && conn.cleanSession) {
    removeAllSubscriptions(ctx.router, session)
    session.reset()
    ctx.sessions.delete(conn.clientId)
    session = undefined
  }
  const present = session !== undefined
  if (session === undefined) {
    session = new Session(conn.clientId, conn.cleanSession, ctx.sessionLimits)
    ctx.sessions.set(conn.clientId, session)
  }
  session.clean = conn.cleanSession
  conn.session = session
  return present
}

function willMessage (conn: Connection, packet: mqttPacket.IConnectPacket): Message | undefined {
  const will = packet.will
  if (will === undefined) return undefined
  const payload = will.payload === undefined ? Buffer.alloc(0) : Buffer.isBuffer(will.payload) ? will.payload : Buffer.from(will.payload)
  return { topic: will.topic, payload, qos: (will.qos ?? 0) as QoS, retain: will.retain ?? false, origin: conn.clientId }
}
