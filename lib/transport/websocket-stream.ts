// A WebSocket seen as a byte stream, so the broker's framer reads MQTT over WebSockets exactly as
// it reads TCP: a frame may hold part of a packet or several packets, and packets need not line
// up with frames [MQTT-6.0.0-2]. Writes complete only when ws has handed their bytes to the
// socket, so writableLength counts what the client has not taken yet and the connection's
// backlog and stall clock work as they do over TCP; 'drain' follows from the same callbacks.
import type { IncomingMessage } from 'node:http'
import { Duplex } from 'node:stream'
import { WebSocket, type RawData } from 'ws'

/** Up to this many bytes of small writes made in one tick leave as one frame; larger ones go as they are. */
const COALESCE_BYTES = 64 * 1024

/** Why a WebSocket ended badly, as the connection's log line shows it. */
export class WebSocketStreamError extends Error {}

export class WebSocketStream extends Duplex {
  /** The peer's address as the TCP connection shows it (X-Forwarded-For is not trusted). */
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined

  constructor (private readonly socket: WebSocket, request: IncomingMessage) {
    // allowHalfOpen false: when the WebSocket closes, our side ends too, as a TCP socket's would.
    super({ allowHalfOpen: false })
    this.remoteAddress = request.socket.remoteAddress
    this.remotePort = request.socket.remotePort
    socket.binaryType = 'nodebuffer'
    socket.on('message', this.onMessage)
    socket.on('close', this.onClose)
    socket.on('error', this.onError)
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (!isBinary) {
      // [MQTT-6.0.0-1] MQTT travels in binary frames; any other data frame closes the connection.
      this.socket.close(1003, 'MQTT needs binary frames')
      this.destroy(new WebSocketStreamError('sent a text WebSocket frame; MQTT uses binary frames [MQTT-6.0.0-1]'))
      return
    }
    // Reading stops while the broker has not taken what arrived (CONNECT being authenticated,
    // a busy event loop), so the client's sending is held back by TCP, not buffered here.
    if (!this.push(data as Buffer)) this.socket.pause()
  }

  private readonly onClose = (): void => {
    this.socket.off('message', this.onMessage)
    // Ends the readable side after whatever already arrived; allowHalfOpen false ends the rest.
    this.push(null)
    const finish = this.finishClose
    this.finishClose = undefined
    finish?.()
  }

  private readonly onError = (error: Error): void => {
    this.destroy(new WebSocketStreamError(`WebSocket error: ${error.message}`))
  }

  /** Set while our end() waits for the WebSocket closing handshake to complete. */
  private finishClose: (() => void) | undefined

  override _read (): void {
    if (this.socket.isPaused) this.socket.resume()
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback)
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let total = 0
    for (const { chunk } of chunks) total += chunk.length
    if (total <= COALESCE_BYTES) {
      const buffers: Buffer[] = new Array(chunks.length)
      for (let i = 0; i < chunks.length; i++) buffers[i] = (chunks[i] as { chunk: Buffer }).chunk
      this.send(Buffer.concat(buffers, total), callback)
      return
    }
    // Large payloads are not copied into one buffer; each goes as a frame of its own, and the
    // whole batch is written once the last frame is.
    const last = chunks.length - 1
    for (let i = 0; i < last; i++) this.send((chunks[i] as { chunk: Buffer }).chunk, ignoreResult)
    this.send((chunks[last] as { chunk: Buffer }).chunk, callback)
  }

  private send (data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== WebSocket.OPEN) {
      callback(new WebSocketStreamError('WebSocket is closed'))
      return
    }
    this.socket.send(data, { binary: true }, callback)
  }

  /** end(): the closing handshake, after every frame written before it (RFC 6455, 7.1.2). */
  override _final (callback: (error?: Error | null) => void): void {
    if (this.socket.readyState === WebSocket.CLOSED) {
      callback()
      return
    }
    this.finishClose = callback
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000)
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    // A WebSocket still open is cut off; one already closing finishes its handshake on its own
    // (ws bounds that wait).
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate()
    this.finishClose = undefined
    callback(error)
  }
}

function ignoreResult (): void {}

/** The Duplex the broker reads and writes for one accepted WebSocket. */
export function webSocketStream (socket: WebSocket, request: IncomingMessage): WebSocketStream {
  return new WebSocketStream(socket, request)
}
