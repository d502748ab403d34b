// A server the test scripts packet by packet, to drive the client into states a real broker
// reaches only by chance (lost acknowledgements, duplicates, aliases, silence). It decodes what
// the client sends with the engine's own framer and decoder, and answers with mqtt-packet.
import { EventEmitter, once } from 'node:events'
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import { PacketDecoder } from '../../lib/codec/decoder'
import { Framer } from '../../lib/codec/framer'
import { WAIT_MS } from './helpers'

export class Peer extends EventEmitter {
  private readonly received: mqttPacket.Packet[] = []
  private readonly decoder = new PacketDecoder()
  protocolVersion = 4
  closed = false

  constructor (readonly socket: net.Socket) {
    super()
    const framer = new Framer({
      onFrame: (_first, _body, whole) => {
        const packet = this.decoder.decode(whole, this.protocolVersion)
        if (packet.cmd === 'connect') this.protocolVersion = packet.protocolVersion ?? 4
        this.received.push(packet)
        this.emit('packet')
      },
      onFrameError: () => socket.destroy()
    }, 268_435_455)
    socket.on('data', (chunk: Buffer) => framer.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => { this.closed = true; this.emit('close') })
  }

  /** The next packet from the client; fails when it is not `cmd` or none comes in time. */
  async expect<C extends mqttPacket.Packet['cmd']> (cmd: C): Promise<Extract<mqttPacket.Packet, { cmd: C }>> {
    const deadline = Date.now() + WAIT_MS
    while (this.received.length === 0) {
      if (this.closed) throw new Error(`connection closed while waiting for ${cmd}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${cmd} within ${WAIT_MS} ms`)
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), left)
      await Promise.race([once(this, 'packet', { signal: controller.signal }), once(this, 'close', { signal: controller.signal })]).catch(() => {})
      controller.abort()
      clearTimeout(timer)
    }
    const packet = this.received.shift() as mqttPacket.Packet
    if (packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(packet)}`)
    return packet as Extract<mqttPacket.Packet, { cmd: C }>
  }

  /** How many packets arrived and were not taken yet. */
  get pending (): number { return this.received.length }

  send (packet: mqttPacket.Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion as 3 | 4 | 5 }))
  }

  sendRaw (bytes: Buffer): void { this.socket.write(bytes) }

  /** Reads CONNECT and answers CONNACK. */
  async accept (sessionPresent = false, properties?: mqttPacket.IConnackPacket['properties']): Promise<mqttPacket.IConnectPacket> {
    const connect = await this.expect('connect')
    const connack: mqttPacket.IConnackPacket = { cmd: 'connack', sessionPresent }
    if (this.protocolVersion === 5) connack.reasonCode = 0
    else connack.returnCode = 0
    if (properties !== undefined) connack.properties = properties
    this.send(connack)
    return connect
  }

  async closedByClient (): Promise<void> {
    if (this.closed) return
    await Promise.race([once(this, 'close'), new Promise((_resolve, reject) => setTimeout(() => reject(new Error('client kept the connection')), WAIT_MS).unref())])
  }
}

export class ScriptedServer {
  private readonly server = net.createServer((socket) => this.onSocket(socket))
  private readonly waiting: Peer[] = []
  private readonly events = new EventEmitter()
  private readonly peers = new Set<Peer>()
  port = 0

  async listen (): Promise<this> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    this.port = (this.server.address() as net.AddressInfo).port
    return this
  }

  /** The next connection the client opens. */
  async connection (): Promise<Peer> {
    const deadline = Date.now() + WAIT_MS
    while (this.waiting.length === 0) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no connection within ${WAIT_MS} ms`)
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), left)
      await once(this.events, 'peer', { signal: controller.signal }).catch(() => {})
      clearTimeout(timer)
    }
    return this.waiting.shift() as Peer
  }

  async close (): Promise<void> {
    for (const peer of this.peers) peer.socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private onSocket (socket: net.Socket): void {
    const peer = new Peer(socket)
    this.peers.add(peer)
    this.waiting.push(peer)
    this.events.emit('peer')
  }
}
