// Fuzz bytes over plain TCP, as written: no framing of our own.
import net from 'node:net'
import type { Feeder, FuzzConnection } from './feeder'

class TcpConnection implements FuzzConnection {
  isClosed = false
  answered = false
  readonly closed: Promise<void>

  constructor (private readonly socket: net.Socket) {
    // A reset from the broker while we write is one of the expected endings.
    socket.on('error', () => {})
    // What the broker answers is not checked here; reading it keeps its writes flowing.
    socket.on('data', () => { this.answered = true })
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true
      resolve()
    }))
  }

  get localPort (): number { return this.socket.localPort ?? 0 }
  write (bytes: Buffer): void { if (!this.isClosed) this.socket.write(bytes) }
  end (): void { this.socket.end() }
  destroy (): void { this.socket.destroy() }
}

export const tcpFeeder: Feeder = {
  name: 'tcp',
  listener: { port: 0, host: '127.0.0.1' },
  open: (port) => new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(new TcpConnection(socket))
    })
  })
}
