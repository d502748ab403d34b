// Plain TCP listeners. Each accepted socket is handed to the broker as a stream.
import net from 'node:net'
import type { ListenerOptions } from '../options'
import type { StreamHandler } from './listeners'

export interface BoundListener {
  readonly host: string
  readonly port: number
  close (): Promise<void>
  /**
   * Re-reads what the listener read from files when it opened (certificates, keys, CRL, PSK
   * keys) for the clients that connect from now on; connected clients keep their sessions.
   * Throws ConfigError, keeping what it had, when a file is bad. Absent when there is nothing to re-read.
   */
  reload?: () => void
}

export function listenTcp (options: ListenerOptions, onStream: StreamHandler): Promise<BoundListener> {
  const arrival = { listener: options }
  const server = net.createServer({ noDelay: true }, (socket) => { onStream(socket, arrival) })
  return bindServer(server, options)
}

/**
 * Listens on the listener's port and address; rejects when that cannot be bound. `onClose` runs
 * as the server stops accepting (to end sockets the broker does not own yet).
 */
export function bindServer (server: net.Server, options: ListenerOptions, onClose?: () => void): Promise<BoundListener> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.close()
      reject(error)
    }
    server.once('error', onError)
    server.listen({ port: options.port, host: options.host }, () => {
      server.off('error', onError)
      const address = server.address() as net.AddressInfo
      resolve({
        host: address.address,
        port: address.port,
        close: () => new Promise<void>((done) => {
          server.close(() => done())
          onClose?.()
        })
      })
    })
  })
}
