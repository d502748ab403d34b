// MQTT over WebSockets (`protocol websockets`): an HTTP server (HTTPS with the listener's `tls`:
// secure WebSockets) that upgrades every request to a WebSocket with the `ws` package and hands
// the broker a byte stream per client. The same acceptor serves a path on someone else's HTTP
// server (Node-RED's, see nodes/broker), where it takes only the upgrades for its own path and
// leaves the others alone.
import http from 'node:http'
import https from 'node:https'
import type tls from 'node:tls'
import type { Duplex } from 'node:stream'
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws'
import type { Arrival } from './arrival'
import type { StreamHandler, TransportLimits } from './listeners'
import { type BoundListener, bindServer } from './tcp'
import { serverTlsOptions, transportIdentity } from './tls-context'
import { webSocketStream } from './websocket-stream'
import type { ListenerOptions } from '../options'

/**
 * The subprotocols served, preferred first: `mqtt` [MQTT-6.0.0-4], and `mqttv3.1`, which MQTT 3.1
 * clients offer and Mosquitto accepts too.
 */
export const MQTT_SUBPROTOCOLS: readonly string[] = ['mqtt', 'mqttv3.1']

/**
 * How long our closing handshake waits for the client's close frame and TCP close before the
 * socket is destroyed; also what a client that sent its close frame but keeps its TCP connection
 * open gets. The connection's own close lingers as long.
 */
const CLOSE_HANDSHAKE_MS = 2000

/** Frames smaller than this are always accepted, however small max_packet_size is, as one may carry several packets. */
const MIN_MAX_PAYLOAD_BYTES = 64 * 1024

export interface WebSocketAcceptorOptions {
  /** Largest WebSocket message accepted, in bytes: the broker's packet limit. */
  maxPacketBytes: number
  /** Only upgrades for this path (query string aside) are taken; every path when unset, as Mosquitto does. */
  path?: string
  /** What every stream accepted here carries into the broker. */
  arrival: Arrival
  /** Receives each accepted stream: Broker.accept. */
  onStream: StreamHandler
  /** The username a stream's transport vouches for (a client certificate on wss), if any. */
  identify?: (request: http.IncomingMessage) => string | undefined
}

/** The subprotocols a client offered, from its Sec-WebSocket-Protocol header. */
function offeredSubprotocols (request: http.IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol']
  return header === undefined ? [] : header.split(',').map((name) => name.trim()).filter((name) => name !== '')
}

/** Chooses `mqtt` over `mqttv3.1` when both are offered; the handshake already refused offers with neither. */
function chooseSubprotocol (offered: Set<string>): string | false {
  for (const name of MQTT_SUBPROTOCOLS) if (offered.has(name)) return name
  return false
}

/**
 * A client that offers subprotocols but none of MQTT's is refused at the handshake, as Mosquitto
 * refuses it (Mosquitto hangs up; here the client gets HTTP 400 saying why). A client offering
 * none is served: [MQTT-6.0.0-3] binds the client, and refusing it would help no one.
 */
function verifyClient (info: { req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void): void {
  const offered = offeredSubprotocols(info.req)
  if (offered.length === 0 || offered.some((name) => MQTT_SUBPROTOCOLS.includes(name))) {
    done(true)
    return
  }
  done(false, 400, `Unsupported WebSocket subprotocol: MQTT is served as ${MQTT_SUBPROTOCOLS.join(' or ')}`)
}

/** Turns HTTP upgrade requests into MQTT streams for the broker. */
export class WebSocketAcceptor {
  private readonly server: WebSocketServer
  private readonly path: string | undefined
  private readonly onStream: StreamHandler
  private readonly arrival: Arrival
  private readonly identify: WebSocketAcceptorOptions['identify']

  constructor (options: WebSocketAcceptorOptions) {
    this.path = options.path
    this.onStream = options.onStream
    this.arrival = options.arrival
    this.identify = options.identify
    const serverOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      // Each connection is tracked by the broker; ws need not keep a second list.
      clientTracking: false,
      // MQTT payloads are the application's; compression costs CPU per message on both sides.
      perMessageDeflate: false,
      maxPayload: Math.max(options.maxPacketBytes, MIN_MAX_PAYLOAD_BYTES),
      handleProtocols: chooseSubprotocol,
      verifyClient,
      // ws reads it (lib/websocket-server.js); its published types do not list it yet.
      closeTimeout: CLOSE_HANDSHAKE_MS
    }
    this.server = new WebSocketServer(serverOptions)
  }

  /** Whether an upgrade request is for this acceptor's path. */
  wants (request: http.IncomingMessage): boolean {
    if (this.path === undefined) return true
    const url = request.url ?? '/'
    const query = url.indexOf('?')
    return (query === -1 ? url : url.slice(0, query)) === this.path
  }

  /** Takes an HTTP upgrade request; returns false, touching nothing, when it is for another path. */
  handleUpgrade (request: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!this.wants(request)) return false
    this.server.handleUpgrade(request, socket, head, (webSocket: WebSocket) => {
      const transportUsername = this.identify?.(request)
      this.onStream(webSocketStream(webSocket, request), transportUsername === undefined ? this.arrival : { ...this.arrival, transportUsername })
    })
    return true
  }
}

/** Answers plain HTTP requests on a WebSocket listener: it serves nothing but the upgrade. */
function refusePlainRequest (_request: http.IncomingMessage, response: http.ServerResponse): void {
  response.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'close' })
  response.end(`This port serves MQTT over WebSockets (subprotocol ${MQTT_SUBPROTOCOLS[0] ?? 'mqtt'}).\n`)
}

/**
 * Binds a `protocol websockets` listener: an HTTP server (HTTPS when the listener has `tls`) whose
 * every upgrade request becomes an MQTT stream. Rejects with a ConfigError naming the file when a
 * certificate or key cannot be used.
 */
export function listenWebSocket (options: ListenerOptions, onStream: StreamHandler, limits: TransportLimits): Promise<BoundListener> {
  const tlsOptions = options.tls
  const where = `listener ${options.port}`
  let secureOptions: tls.TlsOptions | undefined
  try {
    secureOptions = tlsOptions === undefined ? undefined : serverTlsOptions(tlsOptions, where)
  } catch (error) {
    return Promise.reject(error)
  }
  const acceptor = new WebSocketAcceptor({
    maxPacketBytes: limits.maxPacketBytes,
    arrival: tlsOptions === undefined ? { listener: options } : { listener: options, secure: true },
    onStream,
    // use_identity_as_username and use_subject_as_username read the client certificate, as on TLS.
    identify: tlsOptions === undefined ? undefined : (request) => transportIdentity(request.socket as tls.TLSSocket, tlsOptions)
  })
  const httpOptions: http.ServerOptions = {
    // A client that opens a connection and never completes its upgrade request is closed after
    // connect_timeout, as one that never sends CONNECT is (the request timeout would add nothing).
    headersTimeout: limits.handshakeTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(limits.handshakeTimeoutMs, 30_000)
  }
  if (options.websocketsHeadersSize !== undefined) httpOptions.maxHeaderSize = options.websocketsHeadersSize
  const server = secureOptions === undefined
    ? http.createServer(httpOptions, refusePlainRequest)
    : https.createServer({ ...httpOptions, ...secureOptions, handshakeTimeout: limits.handshakeTimeoutMs }, refusePlainRequest)
  // The same for a connection that sends nothing at all (headersTimeout starts at the first byte);
  // ws clears the timeout of the sockets it takes over, so WebSocket clients are not touched.
  server.setTimeout(limits.handshakeTimeoutMs)
  server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => { acceptor.handleUpgrade(request, socket, head) })
  server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
    limits.logger.info(`Client ${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0} refused by the secure WebSocket listener on port ${options.port}: ${error.message}.`)
  })
  // Requests that never became WebSockets would hold close() until their HTTP timeouts; the
  // upgraded ones are the broker's connections, which it closes itself.
  const bound = bindServer(server, options, () => { server.closeAllConnections() })
  if (tlsOptions === undefined) return bound
  return bound.then((listener) => ({
    ...listener,
    // SIGHUP / broker.reload(): new certificates for the clients that connect from now on.
    reload: () => { (server as https.Server).setSecureContext(serverTlsOptions(tlsOptions, where)) }
  }))
}
