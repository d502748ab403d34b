// WebSocket clients for transport specs: a raw `ws` client that sends exactly the frames a test
// builds, and the same client seen as a RawClient so whole MQTT packets can be compared.
import type { TestContext } from 'node:test'
import WebSocket, { createWebSocketStream } from 'ws'
import type { BrokerOptions } from '../../lib'
import { type Harness, startBroker } from './broker'
import { RawClient } from './raw-client'

export interface WebSocketHarness extends Harness {
  /** Port of the `protocol websockets` listener; `port` is a plain TCP listener beside it. */
  wsPort: number
  /** Opens a WebSocket (closed after the test) and resolves once the handshake is done. */
  openWebSocket (options?: OpenOptions): Promise<WebSocket>
}

export interface OpenOptions {
  /** Subprotocols offered; `mqtt` unless set. */
  protocols?: string[]
  path?: string
  headers?: Record<string, string>
}

/** A broker with a TCP listener and a WebSocket listener, both on free loopback ports. */
export async function startWebSocketBroker (t: TestContext, options: Partial<BrokerOptions> = {}): Promise<WebSocketHarness> {
  const h = await startBroker(t, {
    listeners: [{ port: 0, host: '127.0.0.1' }, { port: 0, host: '127.0.0.1', protocol: 'websockets' }],
    ...options
  })
  const wsPort = h.broker.addresses[1]?.port
  if (wsPort === undefined) throw new Error('the broker bound no WebSocket listener')
  const sockets: WebSocket[] = []
  t.after(() => { for (const socket of sockets) socket.terminate() })
  return {
    ...h,
    wsPort,
    openWebSocket: async (open: OpenOptions = {}) => {
      const socket = await connectWebSocket(`ws://127.0.0.1:${wsPort}${open.path ?? '/'}`, open)
      sockets.push(socket)
      return socket
    }
  }
}

/** Resolves with the open WebSocket; rejects with the HTTP status when the handshake is refused. */
export function connectWebSocket (url: string, open: OpenOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, open.protocols ?? ['mqtt'], { headers: open.headers })
    socket.once('open', () => { resolve(socket) })
    socket.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => { reject(new Error(`HTTP ${response.statusCode ?? 0}: ${body}`)) })
    })
    socket.once('error', reject)
  })
}

/** The WebSocket as a RawClient: each packet the client sends is one binary frame. */
export function rawClientOver (socket: WebSocket, protocolVersion: 3 | 4 | 5 = 4): RawClient {
  const stream = createWebSocketStream(socket)
  // ws's stream never emits 'close' itself (emitClose: false); RawClient learns of the end from it.
  socket.once('close', () => { stream.emit('close') })
  return RawClient.over(stream, protocolVersion)
}

/** Resolves with the close code and reason once the WebSocket has closed. */
export function whenWebSocketClosed (socket: WebSocket): Promise<{ code: number, reason: string }> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve({ code: 1006, reason: '' })
  return new Promise((resolve) => {
    socket.once('close', (code: number, reason: Buffer) => { resolve({ code, reason: reason.toString() }) })
  })
}
