// CONNECT (MQTT 3.1.1, 3.1; MQTT 5.0, 3.1) as ordered steps: check the header, read the
// identity and (MQTT 5) the properties, check limits, authenticate, take over an older
// connection and restore or start the session (lib/session), store the will, register, send
// CONNACK, then resume the session's traffic.
import { randomUUID } from 'node:crypto'
import type mqttPacket from 'mqtt-packet'
import type { AuthenticateResult } from '../auth/auth'
import { readConnectProperties } from '../codec/packet-properties'
import type { Connection } from '../connection/connection'
import { V5State } from '../connection/v5-state'
import { ProtocolError, ReasonCode } from '../errors'
import { SESSION_NEVER_EXPIRES } from '../session/session'
import { topicNameProblem } from '../topics/validate'
import { wantsTransportIdentity } from '../transport/tls-context'
import type { QoS } from '../types'
import { accept, type ConnectRequest } from './accept'
import { startEnhancedAuth } from './auth'
import { refuse } from './refuse'

/** The longest client id an MQTT 3.1 server must accept, and may enforce (MQTT 3.1, 3.1). */
const MQTT31_MAX_CLIENT_ID = 23

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
  const levelByte = body[2 + nameLength] as number
  const level = levelByte & 0x7f
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
  // Known before the rest is parsed, so a malformed MQTT 5 CONNECT is answered in MQTT 5's terms.
  conn.protocolVersion = level as 3 | 4 | 5
  // Mosquitto marks bridges on MQTT 3.1 and 3.1.1 only: MQTT 5 has No Local and Retain As
  // Published for what the marker asks.
  conn.bridge = (levelByte & 0x80) !== 0 && level !== 5
  return true
}

export function handleConnect (conn: Connection, packet: mqttPacket.IConnectPacket, body: Buffer): void {
  const request = readIdentity(conn, packet, body)
  // The certificate's name first: use_username_as_clientid then makes it the client id, as in Mosquitto.
  const refusal = takeTransportIdentity(conn, packet) ?? checkIdentity(conn, request) ?? checkLimits(conn, packet)
  if (refusal !== undefined) {
    refuse(conn, refusal[0], refusal[1])
    return
  }
  // Later packets wait until the outcome is known, so nothing is handled before CONNACK.
  conn.state = 'authenticating'
  conn.pauseInput()
  const method = request.properties?.connect.values.authenticationMethod as string | undefined
  if (method !== undefined) {
    startEnhancedAuth(conn, request, method)
    return
  }
  authenticate(conn, packet, (result) => {
    if (conn.state !== 'authenticating') return
    // A numeric answer is a CONNACK code, and code 0 means accepted (MQTT 3.1.1, 3.2.2.3).
    if (result === true || result === 0) {
      conn.ctx.loginThrottle.succeeded(conn.remoteAddress)
      accept(conn, request)
      return
    }
    const reasonCode = typeof result === 'number' ? (REASON_FOR_RETURN_CODE[result] ?? result) : ReasonCode.BadUserNameOrPassword
    refuseLogin(conn, reasonCode, reasonCode === ReasonCode.NotAuthorized ? 'not authorised' : 'bad username or password')
  })
}

/**
 * A refused login. A bad user name or password is answered at once for the first few from an
 * address, then after a growing wait (auth/login-throttle.ts), so guessing passwords is slow.
 * Other refusals (an anonymous client where none are allowed) guess nothing and are not slowed,
 * nor are streams without a known address (handed over by code), which would share one entry.
 */
function refuseLogin (conn: Connection, reasonCode: number, why: string): void {
  const address = conn.remoteAddress
  const guess = reasonCode === ReasonCode.BadUserNameOrPassword && address !== 'unknown'
  const { delayMs, count } = guess ? conn.ctx.loginThrottle.failed(address) : { delayMs: 0, count: 0 }
  if (delayMs === 0) {
    refuse(conn, reasonCode, why)
    return
  }
  conn.ctx.logger.notice(`Client ${conn.describe()} refused after a ${delayMs} ms wait: ${count} failed logins in a row from ${address}.`)
  setTimeout(() => {
    // connect_timeout or a closed socket may have ended it meanwhile.
    if (conn.state === 'authenticating') refuse(conn, reasonCode, why)
  }, delayMs).unref()
}

function readIdentity (conn: Connection, packet: mqttPacket.IConnectPacket, body: Buffer): ConnectRequest {
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
    // [MQTT-3.1.2-14] Will QoS 3 is malformed; mqtt-packet passes it through
    if ((packet.will.qos ?? 0) > 2) throw new ProtocolError(ReasonCode.MalformedPacket, 'will QoS 3')
    // [MQTT-3.1.2-14] the will topic is a topic name like any PUBLISH's
    const problem = topicNameProblem(packet.will.topic, conn.ctx.options.maxTopicLevels)
    if (problem !== undefined) throw new ProtocolError(ReasonCode.TopicNameInvalid, `will topic ${problem}`)
  }
  const request: ConnectRequest = {
    packet,
    properties: undefined,
    // MQTT 3.1.1: clean session 1 ends with the connection; 0 lives on [MQTT-3.1.2-4, -6].
    sessionExpirySec: conn.cleanSession ? 0 : SESSION_NEVER_EXPIRES,
    assignedClientId: false,
    serverKeepalive: undefined
  }
  if (conn.protocolVersion === 5) readV5Properties(conn, request, body)
  return request
}

function readV5Properties (conn: Connection, request: ConnectRequest, body: Buffer): void {
  const properties = readConnectProperties(body)
  request.properties = properties
  const v = properties.connect.values
  const v5 = new V5State()
  conn.v5 = v5
  // [MQTT-3.1.2-11.2] Session Expiry Interval: absent means 0
  request.sessionExpirySec = (v.sessionExpiryInterval as number | undefined) ?? 0
  if (v.receiveMaximum !== undefined) {
    // It is a Protocol Error to include the Receive Maximum with the value 0 (3.1.2.11.3)
    if (v.receiveMaximum === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'receive maximum 0')
    v5.receiveMaximum = v.receiveMaximum as number
  }
  if (v.maximumPacketSize !== undefined) {
    if (v.maximumPacketSize === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'maximum packet size 0')
    v5.maximumPacketSize = v.maximumPacketSize as number
  }
  v5.topicAliasMaximum = (v.topicAliasMaximum as number | undefined) ?? 0
  for (const name of ['requestProblemInformation', 'requestResponseInformation']) {
    const flag = v[name]
    if (flag !== undefined && flag !== 0 && flag !== 1) throw new ProtocolError(ReasonCode.ProtocolError, `${name} ${String(flag)}`)
  }
  v5.problemInformation = v.requestProblemInformation !== 0
  // Authentication Data without a method is a Protocol Error (3.1.2.11.10)
  if (v.authenticationData !== undefined && v.authenticationMethod === undefined) {
    throw new ProtocolError(ReasonCode.ProtocolError, 'authentication data without authentication method')
  }
}

/** Client identifier rules (MQTT 3.1.1, 3.1.3.1; MQTT 5.0, 3.1.3.1) and keepalive limits. */
function checkIdentity (conn: Connection, request: ConnectRequest): [number, string] | undefined {
  const { options } = conn.ctx
  if (conn.clientId === '') {
    // [MQTT-3.1.3-8] empty id with clean session 0: identifier rejected; MQTT 3.1 allows no empty id.
    // MQTT 5 allows it with any Clean Start [MQTT-3.1.3-6].
    if ((!conn.cleanSession && conn.protocolVersion !== 5) || conn.protocolVersion === 3) return [ReasonCode.ClientIdentifierNotValid, 'empty client id']
    // allow_zero_length_clientid false: refused with 0x85, which MQTT 5 names for it [MQTT-3.1.3-8]
    // (Mosquitto answers MQTT 5 clients 0x80); MQTT 3.1.1 clients get return code 2.
    if (!options.allowZeroLengthClientid) return [ReasonCode.ClientIdentifierNotValid, 'empty client id while allow_zero_length_clientid is false']
    // [MQTT-3.1.3-6] the server assigns one
    conn.clientId = `${options.autoIdPrefix}${randomUUID()}`
    request.assignedClientId = true
  } else {
    const limit = conn.protocolVersion === 3 ? Math.min(MQTT31_MAX_CLIENT_ID, options.maxClientIdLength) : options.maxClientIdLength
    if (Buffer.byteLength(conn.clientId) > limit) return [ReasonCode.ClientIdentifierNotValid, `client id longer than ${limit} bytes`]
  }
  // clientid_prefixes: refused as "not authorised" (3.1.1 return code 5, MQTT 5 0x87), as
  // Mosquitto refuses it; an id the broker assigned is held to it too.
  if (options.clientidPrefixes !== '' && !conn.clientId.startsWith(options.clientidPrefixes)) {
    return [ReasonCode.NotAuthorized, `client id does not start with clientid_prefixes '${options.clientidPrefixes}'`]
  }
  if (options.useUsernameAsClientid) {
    // As Mosquitto: the username replaces the id before authentication, and a client without
    // one is refused as "not authorised".
    if (conn.username === undefined) return [ReasonCode.NotAuthorized, 'no username while use_username_as_clientid is true']
    conn.clientId = conn.username
  }
  if (conn.keepaliveSec > options.maxKeepalive) {
    // MQTT 3.1.1 cannot tell a client to use a shorter keepalive, so one over the limit is refused;
    // MQTT 5 is told the keepalive to use in CONNACK [MQTT-3.2.2-21].
    if (conn.protocolVersion !== 5) return [ReasonCode.ClientIdentifierNotValid, `keepalive ${conn.keepaliveSec} over max_keepalive ${options.maxKeepalive}`]
    conn.keepaliveSec = options.maxKeepalive
    request.serverKeepalive = options.maxKeepalive
  } else if (conn.keepaliveSec === 0 && conn.protocolVersion === 5 && options.maxKeepalive < 65535) {
    // An explicit max_keepalive means idle clients must be noticed: an MQTT 5 client asking for
    // none is given the maximum, as Mosquitto does.
    conn.keepaliveSec = options.maxKeepalive
    request.serverKeepalive = options.maxKeepalive
  }
  // [MQTT-3.2.2-15] a retained will where retained messages are not kept is refused (0x9A)
  if (request.packet.will?.retain === true && !options.retainAvailable) return [ReasonCode.RetainNotSupported, 'retained will while retain_available is false']
  // [MQTT-3.2.2-12] a will above the QoS the server supports is refused
  const willQos = request.packet.will?.qos ?? 0
  if (willQos > options.maxQos) return [ReasonCode.QoSNotSupported, `will QoS ${willQos} over max_qos ${options.maxQos}`]
  return undefined
}

function checkLimits (conn: Connection, packet: mqttPacket.IConnectPacket): [number, string] | undefined {
  const { options, sessions } = conn.ctx
  // A will is a message published later, held to message_size_limit like any PUBLISH; refused
  // as Mosquitto does (CONNACK 5 in MQTT 3.1.1, Packet Too Large in MQTT 5).
  const willBytes = packet.will?.payload === undefined ? 0 : Buffer.byteLength(packet.will.payload)
  if (options.messageSizeLimit > 0 && willBytes > options.messageSizeLimit) {
    return [ReasonCode.PacketTooLarge, `will payload of ${willBytes} bytes over message_size_limit ${options.messageSizeLimit}`]
  }
  const max = options.maxConnections
  // A takeover replaces a client rather than adding one; CONNECTs still being authenticated
  // count, so a burst of slow logins cannot overshoot the limit.
  if (max >= 0 && sessions.connectedCount + conn.ctx.authenticating >= max && !sessions.isConnected(conn.clientId)) {
    return [ReasonCode.ServerUnavailable, `max_connections (${max}) reached`]
  }
  // A listener's own max_connections counts its connected clients (Mosquitto's meaning); a
  // takeover through the same listener replaces one of them.
  const listener = conn.arrival.listener
  const listenerMax = listener?.maxConnections ?? -1
  if (listener !== undefined && listenerMax >= 0 && (conn.ctx.listenerClients.get(listener) ?? 0) >= listenerMax &&
    sessions.connection(conn.clientId)?.arrival.listener !== listener) {
    return [ReasonCode.ServerUnavailable, `max_connections (${listenerMax}) of listener ${listener.port} reached`]
  }
  return undefined
}

/**
 * On a listener with use_identity_as_username or use_subject_as_username, the name the TLS
 * handshake proved replaces the CONNECT's username and password; a client that proved none is
 * refused with Bad User Name or Password, as Mosquitto does (handle_connect.c).
 */
function takeTransportIdentity (conn: Connection, packet: mqttPacket.IConnectPacket): [number, string] | undefined {
  const username = conn.arrival.transportUsername
  if (username === undefined) {
    return wantsTransportIdentity(conn.arrival.listener) ? [ReasonCode.BadUserNameOrPassword, 'no client certificate identity to use as username'] : undefined
  }
  conn.username = username
  packet.username = username
  delete packet.password
  return undefined
}

function authenticate (conn: Connection, packet: mqttPacket.IConnectPacket, done: (result: AuthenticateResult) => void): void {
  // The transport vouched for the username: no password is asked (Mosquitto skips its password check too).
  if (conn.arrival.transportUsername !== undefined) {
    done(true)
    return
  }
  const { auth } = conn.ctx
  const request = {
    clientId: conn.clientId,
    username: packet.username,
    password: packet.password,
    remoteAddress: conn.remoteAddress,
    listenerIndex: conn.listenerIndex
  }
  const fail = (error: unknown): void => {
    conn.ctx.logger.error(`Authentication hook failed for ${conn.describe()}: ${error instanceof Error ? error.message : String(error)}.`)
    done(ReasonCode.ServerUnavailable)
  }
  let result: AuthenticateResult | Promise<AuthenticateResult>
  try {
    result = auth.authenticate(request)
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
