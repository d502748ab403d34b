// Fuzz bytes over WebSockets (`protocol websockets`, subprotocol mqtt): each write is one binary
// message, so a case's chunks arrive split across messages as the framer must reassemble them.
import WebSocket from 'ws'
import type { Feeder, FuzzConnection } from './feeder'

class WebSocketConnection implements FuzzConnection {
  isClosed = false
  answered = false
  readonly closed: Promise<void>

  constructor (private readonly socket: WebSocket, readonly localPort: number) {
    // A reset from the broker while we write is one of the expected endings.
    socket.on('error', () => {})
    socket.on('message', () => { this.answered = true })
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true
      resolve()
    }))
  }

  write (bytes: Buffer): void { if (!this.isClosed && this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes, { binary: true }) }
  end (): void { this.socket.close(1000) }
  destroy (): void { this.socket.terminate() }
}

export const webSocketFeeder: Feeder = {
  name: 'websockets',
  listener: { port: 0, host: '127.0.0.1', protocol: 'websockets' },
  open: (port) => new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt')
    socket.once('error', reject)
    socket.once('open', () => {
      socket.off('error', reject)
      // The underlying socket's port: the broker's log names a client without an id by it.
      const raw = (socket as unknown as { _socket?: { localPort?: number } })._socket
      resolve(new WebSocketConnection(socket, raw?.localPort ?? 0))
    })
  })
}
