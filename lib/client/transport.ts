// Opens the network connection: TCP, or TLS through node:tls when options.tls is set.
import net from 'node:net'
import tls from 'node:tls'
import type { ClientOptions } from './options'

/** Starts connecting to host:port; `onReady` runs once the socket (and the TLS handshake) is up. */
export function openSocket (options: ClientOptions, host: string, port: number, onReady: () => void): net.Socket {
  let socket: net.Socket
  if (options.tls !== undefined) {
    // SNI needs a host name; an IP address is not allowed there (RFC 6066, 3).
    const servername = options.tls.servername ?? (net.isIP(host) === 0 ? host : undefined)
    const settings: tls.ConnectionOptions = { ...options.tls, host, port }
    if (servername !== undefined) settings.servername = servername
    socket = tls.connect(settings, onReady)
  } else {
    socket = net.connect({ host, port }, onReady)
  }
  // Small control packets must not wait for Nagle's algorithm.
  socket.setNoDelay(true)
  return socket
}
