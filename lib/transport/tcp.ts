// Plain TCP listeners. Each accepted socket is handed to the broker as a stream.
import net from 'node:net'
import type { ListenerOptions } from '../options'
import type { StreamHandler } from './listeners'

export interface BoundListener {
  readonly host: string
  readonly port: number
  close (): Promise<void>
}

export function listenTcp (options: ListenerOptions, onStream: StreamHandler): Promise<BoundListener> {
  const arrival = { listener: options }
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, (socket) => { onStream(socket, arrival) })
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
        close: () => new Promise<void>((done) => server.close(() => done()))
      })
    })
  })
}
