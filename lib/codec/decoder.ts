// Decodes one whole control packet with mqtt-packet. The framer hands over complete packets, so a
// single parser serves every connection: the only state it carries between packets is the
// protocol version, which is set before each call. One parser per broker instead of per socket
// keeps idle connections small.
import { isUtf8 } from 'node:buffer'
import mqttPacket from 'mqtt-packet'
import { ProtocolError, ReasonCode } from '../errors'

interface ParserInternals {
  settings: { protocolVersion?: number }
  _resetState (): void
  _list: { length: number }
  /** Read position; only a completed packet resets it, and _resetState() does not. */
  _pos: number
  _parseString (): string | null
}

/** The bytes of the string _parseString() just read: its 2-byte length, then `length` bytes. */
interface ParsedList { slice (start: number, end: number): Buffer }

export class PacketDecoder {
  private readonly parser = mqttPacket.parser()
  private packet: mqttPacket.Packet | undefined
  private error: Error | undefined
  /** Set when the packet failed because a string was not valid MQTT UTF-8. */
  private badString = false

  constructor () {
    this.parser.on('packet', (packet: mqttPacket.Packet) => { this.packet = packet })
    this.parser.on('error', (error: Error) => { this.error = error })
    // mqtt-packet decodes strings with toString('utf8'), which silently replaces bad bytes.
    // [MQTT-1.5.3-1] ill-formed UTF-8 and [MQTT-1.5.3-2] U+0000 in any string (client id, will
    // topic, user name, topic filter, property) must close the connection instead. Returning
    // null makes the parser fail the packet; `badString` gives the reason.
    const decoder = this
    const internals = this.parser as unknown as ParserInternals
    const parseString = internals._parseString
    internals._parseString = function (this: ParserInternals & { _list: ParsedList }) {
      const start = this._pos
      const text = parseString.call(this)
      if (text === null) return null
      const bytes = this._list.slice(start + 2, this._pos)
      if (!isUtf8(bytes) || bytes.includes(0)) {
        decoder.badString = true
        return null
      }
      return text
    }
  }

  decode (frame: Buffer, protocolVersion: number): mqttPacket.Packet {
    const internals = this.parser as unknown as ParserInternals
    this.packet = undefined
    this.error = undefined
    this.badString = false
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
      if (this.badString) throw new ProtocolError(ReasonCode.MalformedPacket, 'a string is not valid UTF-8 or contains U+0000')
      throw new ProtocolError(ReasonCode.MalformedPacket, error?.message ?? 'malformed packet')
    }
    return packet
  }
}
