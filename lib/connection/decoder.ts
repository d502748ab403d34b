// Decodes one whole control packet with mqtt-packet. The framer hands over complete packets, so a
// single parser serves every connection: the only state it carries between packets is the
// protocol version, which is set before each call. One parser per broker instead of per socket
// keeps idle connections small.
import mqttPacket from 'mqtt-packet'
import { ProtocolError, ReasonCode } from '../errors'

interface ParserInternals {
  settings: { protocolVersion?: number }
  _resetState (): void
  _list: { length: number }
  /** Read position; only a completed packet resets it, and _resetState() does not. */
  _pos: number
}

export class PacketDecoder {
  private readonly parser = mqttPacket.parser()
  private packet: mqttPacket.Packet | undefined
  private error: Error | undefined

  constructor () {
    this.parser.on('packet', (packet: mqttPacket.Packet) => { this.packet = packet })
    this.parser.on('error', (error: Error) => { this.error = error })
  }

  decode (frame: Buffer, protocolVersion: number): mqttPacket.Packet {
    const internals = this.parser as unknown as ParserInternals
    this.packet = undefined
    this.error = undefined
    internals.settings = { protocolVersion }
    this.parser.parse(frame)
    const packet = this.packet as mqttPacket.Packet | undefined
    const error = this.error as Error | undefined
    this.packet = undefined
    this.error = undefined
    if (error !== undefined || packet === undefined || internals._list.length > 0) {
      internals._resetState()
      // Left where the failed packet stopped, it would offset the next packet's length read.
      internals._pos = 0
      throw new ProtocolError(ReasonCode.MalformedPacket, error?.message ?? 'malformed packet')
    }
    return packet
  }
}
