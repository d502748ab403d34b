// A CONNECT that passed every check, by password or by an enhanced authentication exchange:
// the session, the will, CONNACK, then the session's traffic. Its own file so that the CONNECT
// and AUTH handlers both reach it without importing each other.
import type mqttPacket from 'mqtt-packet'
import { encodeConnackAccepted } from '../codec/acks'
import type { ConnectProperties } from '../codec/packet-properties'
import { inboundPublishProperties } from '../codec/publish-properties'
import type { Connection } from '../connection/connection'
import type { Session } from '../session/session'
import { mountTopic } from '../topics/mount-point'
import type { Message, QoS } from '../types'

/** What CONNECT asked for beyond the fields every version has. */
export interface ConnectRequest {
  packet: mqttPacket.IConnectPacket
  /** MQTT 5 property blocks, read strictly; undefined for MQTT 3.1/3.1.1. */
  properties: ConnectProperties | undefined
  /** Session Expiry Interval asked for (MQTT 3.1.1: from the clean session flag). */
  sessionExpirySec: number
  /** The id was assigned by us [MQTT-3.1.3-6]; MQTT 5 clients are told it in CONNACK. */
  assignedClientId: boolean
  /** Keepalive imposed on an MQTT 5 client whose own was over max_keepalive. */
  serverKeepalive: number | undefined
}

/**
 * CONNECT accepted. In a cluster, a client that resumes a persistent session first asks the cluster
 * whether it keeps one (the session may have been made on another node), so that CONNACK's Session
 * Present says so [MQTT-3.2.2-2] (MQTT 5.0, 3.2.2.1.1); the connection waits as it does for an
 * asynchronous authenticator, its input paused. Everything else goes on at once, as on a broker alone.
 */
export function accept (conn: Connection, request: ConnectRequest, authProperties?: Record<string, unknown>): void {
  const lookup = conn.ctx.sessionLookup
  // MQTT 3.1 has no Session Present to answer; a clean start or a session that ends with its connection asks for none.
  if (lookup === undefined || conn.cleanSession || request.sessionExpirySec === 0 || conn.protocolVersion === 3) {
    begin(conn, request, authProperties, false)
    return
  }
  lookup.heldInCluster(conn.clientId).then((held) => {
    // connect_timeout or a closed socket may have ended it meanwhile.
    if (conn.state === 'authenticating') begin(conn, request, authProperties, held === true)
  }).catch((error: unknown) => { conn.protocolFailure(error) })
}

/** The session, the will, CONNACK, then the session's traffic. */
function begin (conn: Connection, request: ConnectRequest, authProperties: Record<string, unknown> | undefined, heldInCluster: boolean): void {
  const { ctx } = conn
  const clientId = conn.clientId
  const sessionPresent = ctx.sessions.begin(conn, request.sessionExpirySec) || heldInCluster
  conn.will = willMessage(conn, request)
  conn.state = 'connected'
  conn.connectedAtMs = Date.now()
  ctx.sessions.register(conn)
  const listener = conn.arrival.listener
  if (listener !== undefined) {
    ctx.listenerClients.set(listener, (ctx.listenerClients.get(listener) ?? 0) + 1)
    conn.countedOnListener = true
  }
  // MQTT 3.1 has no session present flag (it is new in 3.1.1, 3.2.2.2).
  const presentFlag = conn.protocolVersion === 3 ? false : sessionPresent
  const properties = conn.protocolVersion === 5 ? connackProperties(conn, request, authProperties) : undefined
  if (properties === undefined || Object.keys(properties).length === 0) {
    conn.write(encodeConnackAccepted(presentFlag, conn.protocolVersion === 5))
  } else {
    conn.sendPacket({ cmd: 'connack', sessionPresent: presentFlag, reasonCode: 0, properties })
  }
  ctx.stats.connectionsAccepted++
  ctx.logger.notice(`New ${conn.bridge ? 'bridge' : 'client'} connected from ${conn.remoteAddress}:${conn.remotePort} as ${clientId} (p${conn.protocolVersion === 4 ? 2 : conn.protocolVersion === 3 ? 1 : 5}, c${conn.cleanSession ? 1 : 0}, k${conn.keepaliveSec}${conn.username !== undefined ? `, u'${conn.username}'` : ''}).`)
  // The event object (and the client's info, kept for its lifetime) only when someone listens.
  if (ctx.events.listenerCount('clientConnected') > 0) ctx.events.emit('clientConnected', { ...conn.info, sessionPresent })
  // [MQTT-4.4.0-1] unacknowledged messages are re-sent after CONNACK, then the queue drains
  ;(conn.session as Session).attach(conn)
  conn.startKeepalive()
  conn.resumeInput()
}

/** What the broker tells an MQTT 5 client about itself (MQTT 5.0, 3.2.2.3). */
function connackProperties (conn: Connection, request: ConnectRequest, authProperties?: Record<string, unknown>): NonNullable<mqttPacket.IConnackPacket['properties']> {
  const { options } = conn.ctx
  const properties: NonNullable<mqttPacket.IConnackPacket['properties']> = { ...authProperties }
  // [MQTT-3.2.2-16] the identifier we assigned
  if (request.assignedClientId) properties.assignedClientIdentifier = conn.clientId
  // [MQTT-3.2.2-21] the keepalive to use instead of the client's
  if (request.serverKeepalive !== undefined) properties.serverKeepAlive = request.serverKeepalive
  if (!options.retainAvailable) properties.retainAvailable = false
  if (options.maxQos < 2) properties.maximumQoS = options.maxQos
  if (options.maxTopicAlias > 0) properties.topicAliasMaximum = options.maxTopicAlias
  if (options.maxInflightMessages > 0 && options.maxInflightMessages < 65535) properties.receiveMaximum = options.maxInflightMessages
  if (conn.ctx.maxInboundPacketBytes < 268_435_460) properties.maximumPacketSize = conn.ctx.maxInboundPacketBytes
  if (request.properties?.connect.values.requestResponseInformation === 1) {
    properties.responseInformation = `${options.responseInformationRoot}/${conn.clientId}/`
  }
  return properties
}

function willMessage (conn: Connection, request: ConnectRequest): Message | undefined {
  const will = request.packet.will
  if (will === undefined) return undefined
  const payload = will.payload === undefined ? Buffer.alloc(0) : Buffer.isBuffer(will.payload) ? will.payload : Buffer.from(will.payload)
  // The will goes out under the listener's mount_point like any PUBLISH of the client.
  const topic = mountTopic(conn.mountPoint, will.topic)
  const message: Message = { id: 0, topic, payload, qos: (will.qos ?? 0) as QoS, retain: will.retain ?? false, origin: { kind: 'will', clientId: conn.clientId, client: conn.info } }
  const read = request.properties?.will
  if (read !== undefined) {
    const inbound = inboundPublishProperties({ values: { ...read.values, willDelayInterval: undefined }, userProperties: read.userProperties })
    if (inbound.properties !== undefined) message.properties = inbound.properties
    if (read.userProperties !== undefined) message.userPropertyPairs = read.userProperties
    // The will's expiry clock starts when it is published (the core sets expiresAt then).
    conn.willDelaySec = (read.values.willDelayInterval as number | undefined) ?? 0
  }
  return message
}
