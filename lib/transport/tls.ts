// MQTT over TLS (and TLS-PSK): each socket is handed to the broker once its handshake is done,
// with the identity the handshake proved. A handshake is bounded by connect_timeout from the
// first byte of TCP, so a client that opens a socket and never finishes (or never starts) TLS
// cannot hold it, and the listener's certificates can be swapped (reload) without touching
// connected clients.
import type net from 'node:net'
import tls from 'node:tls'
import type { ListenerOptions, ListenerTlsOptions } from '../options'
import type { Arrival } from './arrival'
import type { StreamHandler, TransportLimits } from './listeners'
import { type BoundListener, bindServer } from './tcp'
import { serverTlsOptions, transportIdentity } from './tls-context'

/** A TCP connection as the listener's two events both see it: the client's address and port. */
function peerKey (socket: net.Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`
}

export function listenTls (options: ListenerOptions, onStream: StreamHandler, limits: TransportLimits): Promise<BoundListener> {
  const tlsOptions = options.tls as ListenerTlsOptions
  const where = `listener ${options.port}`
  let current: tls.TlsOptions
  try {
    current = serverTlsOptions(tlsOptions, where)
  } catch (error) {
    return Promise.reject(error)
  }
  // Nagle off from the first byte, as on plain TCP: the handshake's last flight (session tickets)
  // would otherwise wait for a delayed ACK.
  const serverOptions: tls.TlsOptions & { noDelay: boolean } = { ...current, noDelay: true }
  // The PSK keys are looked up through the current options, so a reload reaches them too
  // (setSecureContext() only swaps certificates, keys, CAs and CRLs).
  if (current.pskCallback !== undefined) serverOptions.pskCallback = (socket, identity) => current.pskCallback?.(socket, identity) ?? null
  const server = tls.createServer(serverOptions)
  /** Sockets whose handshake is not done, by peer, with the timer that ends them. */
  const handshaking = new Map<string, { socket: net.Socket, timer: NodeJS.Timeout }>()
  const plainArrival: Arrival = { listener: options, secure: true }

  server.on('connection', (socket: net.Socket) => {
    const key = peerKey(socket)
    const timer = setTimeout(() => {
      limits.logger.notice(`Client ${key.replace('|', ':')} closed: TLS handshake not done within ${limits.handshakeTimeoutMs / 1000} s.`)
      socket.destroy()
    }, limits.handshakeTimeoutMs)
    handshaking.set(key, { socket, timer })
    socket.once('close', () => {
      clearTimeout(timer)
      if (handshaking.get(key)?.socket === socket) handshaking.delete(key)
    })
  })
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const key = peerKey(socket)
    const pending = handshaking.get(key)
    if (pending !== undefined) {
      clearTimeout(pending.timer)
      handshaking.delete(key)
    }
    const transportUsername = transportIdentity(socket, tlsOptions)
    onStream(socket, transportUsername === undefined ? plainArrival : { listener: options, secure: true, transportUsername })
  })
  server.on('tlsClientError', (error: Error & { reason?: string }, socket: tls.TLSSocket) => {
    // Node closes the socket; the log says why a client never got as far as MQTT: the verdict on
    // its certificate (CERT_REVOKED, CERT_HAS_EXPIRED) or OpenSSL's reason, not its error stack.
    // A socket refused for its certificate is already gone, and its address with it.
    const port = (server.address() as net.AddressInfo | null)?.port ?? options.port
    const refused = socket.authorizationError as unknown as string | null | undefined
    const why = refused === undefined || refused === null ? error.reason ?? error.message : `client certificate not accepted (${refused})`
    const who = socket.remoteAddress === undefined ? 'A client' : `Client ${socket.remoteAddress}:${socket.remotePort ?? 0}`
    // A client that hangs up mid-handshake (a port probe, a health check) is no refusal worth a notice.
    const hungUp = (refused === undefined || refused === null) && (error as NodeJS.ErrnoException).code === 'ECONNRESET'
    limits.logger[hungUp ? 'debug' : 'notice'](`${who} refused by the TLS listener on port ${port}: ${why}.`)
  })
  return bindServer(server, options, () => {
    // Sockets still in their handshake belong to no connection yet: nobody else would end them.
    for (const { socket, timer } of handshaking.values()) {
      clearTimeout(timer)
      socket.destroy()
    }
    handshaking.clear()
  }).then((bound) => ({
    host: bound.host,
    port: bound.port,
    close: bound.close,
    reload: () => {
      const next = serverTlsOptions(tlsOptions, where)
      server.setSecureContext(next)
      current = next
    }
  }))
}
