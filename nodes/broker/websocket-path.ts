// MQTT over WebSockets on a path of Node-RED's own HTTP server (e.g. ws://host:1880/mqtt), so a
// browser dashboard reaches the embedded broker without a second port, behind Node-RED's TLS when
// Node-RED has it. Upgrades for other paths (the editor's /comms, websocket nodes) are left to
// their owners; the handler comes off the server when the broker node closes.
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { type Broker, WebSocketAcceptor } from '../../lib'
import type { EmbeddedTransport } from '../shared/embedded-transport'
import type { RedApi, RedNode } from '../shared/red'

/** Full paths served now, so two broker nodes cannot both answer one path. */
const servedPaths = new Set<string>()

/**
 * The path as the server sees it: under httpNodeRoot, as Node-RED's own websocket nodes are, with
 * one leading slash. Empty when the setting is empty (the feature is off).
 */
export function webSocketPath (wsPath: string, httpNodeRoot: string | false | undefined): string {
  const path = wsPath.trim().replace(/^\/+/, '')
  if (path === '') return ''
  const root = httpNodeRoot === undefined || httpNodeRoot === false || httpNodeRoot === '' ? '/' : httpNodeRoot
  return `${root.startsWith('/') ? '' : '/'}${root}${root.endsWith('/') ? '' : '/'}${path}`
}

/**
 * Serves the broker's MQTT over WebSockets at `path` of `server`. Returns the function that
 * stops (connections already open are the broker's, closed with it). Throws 'ws-path-in-use'
 * when another broker node serves that path.
 */
export function serveWebSocketPath (server: Server, broker: Broker, path: string): () => void {
  if (servedPaths.has(path)) throw new Error('ws-path-in-use')
  const acceptor = new WebSocketAcceptor({
    maxPacketBytes: broker.maxPacketBytes,
    path,
    // Port 0: no listener of the broker's own; the stream came through Node-RED's server.
    arrival: { listener: { port: 0, protocol: 'websockets' }, secure: server instanceof tls.Server },
    onStream: (stream, arrival) => { broker.accept(stream, arrival) }
  })
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    acceptor.handleUpgrade(request, socket, head)
  }
  server.on('upgrade', onUpgrade)
  servedPaths.add(path)
  return () => {
    server.off('upgrade', onUpgrade)
    servedPaths.delete(path)
  }
}

/**
 * The broker node's side: once the embedded broker listens, serves it at `wsPath` (the dialog's
 * value) on Node-RED's server. Returns the function the node's close calls; problems are logged
 * on the node and leave the broker running on its own listeners.
 */
export function attachWebSocketPath (RED: RedApi, node: RedNode, transport: EmbeddedTransport, wsPath: string): () => void {
  const path = webSocketPath(wsPath, RED.settings?.httpNodeRoot)
  if (path === '') return () => {}
  let stop: (() => void) | undefined
  let closed = false
  void transport.ready().then(() => {
    if (closed || transport.status.state !== 'connected') return
    const server = RED.server
    if (server === undefined) {
      node.warn(RED._('roost-broker.errors.ws-path-no-server', { path }))
      return
    }
    try {
      stop = serveWebSocketPath(server, transport.broker, path)
      node.log(RED._('roost-broker.status.ws-path-serving', { path }))
    } catch {
      node.error(RED._('roost-broker.errors.ws-path-in-use', { path }))
    }
  })
  return () => {
    closed = true
    stop?.()
    stop = undefined
  }
}
