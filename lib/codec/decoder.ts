// Decodes one whole control packet with mqtt-packet. The framer hands over complete packets, so a
// single parser serves every connection: the only state it carries between packets is the
// protocol version, which is set before each call. One parser per broker instead of per socket
// keeps idle connections small.
import { isUtf8 } from 'node:buffer'
import mqttPacket from 'mqtt-packet'
import { ProtocolError, ReasonCode } from '../errors'
import { MAX_USER_PROPERTIES_PER_PACKET } from './properties'

interface ParserInternals {
  settings: { protocolVersion?: number }
  _resetState (): void
  _list: { length: number }
  /** Read position; only a completed packet resets it, and _resetState() does not. */
  _pos: number
  _parseString (): string | null
  _parseStringPair (): { name: string | null, value: string | null }
}

/** The bytes of the string _parseString() just read: its 2-byte length, then `length` bytes. */
interface ParsedList { slice (start: number, end: number): Buffer }

export class PacketDecoder {
  private readonly parser = mqttPacket.parser()
  private packet: mqttPacket.Packet | undefined
  private error: Error | undefined
  /** Set when the packet failed because a string was not valid MQTT UTF-8. */
  private badString = false
  /** User properties read so far in the packet being decoded. */
  private userProperties = 0

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
      // toString('utf8') turns every ill-formed sequence into U+FFFD, so a string without U+FFFD
      // and U+0000 was well formed: only the rare string holding either has its bytes checked.
      if (!text.includes('\uFFFD') && !text.includes('\u0000')) return text
      const bytes = this._list.slice(start + 2, this._pos)
      if (!isUtf8(bytes) || bytes.includes(0)) {
        decoder.badString = true
        return null
      }
      return text
    }
    const parseStringPair = internals._parseStringPair
    internals._parseStringPair = function (this: ParserInternals) {
      // CONNECT meets mqtt-packet before the strict property reader, and the client engine reads
      // what a server sends with it alone: the same bound holds here.
      if (++decoder.userProperties > MAX_USER_PROPERTIES_PER_PACKET) {
        // Thrown out of mqtt-packet's parse loop and caught in decode(), which resets the parser.
        throw new ProtocolError(ReasonCode.ImplementationSpecificError, `more than ${MAX_USER_PROPERTIES_PER_PACKET} user properties in one packet`)
      }
      return parseStringPair.call(this)
    }
  }

  decode (frame: Buffer, protocolVersion: number): mqttPacket.Packet {
    const internals = this.parser as unknown as ParserInternals
    this.packet = undefined
    this.error = undefined
    this.badString = false
    this.userProperties = 0
    internals.settings = { protocolVersion }
    let thrown: unknown
    try {
      this.parser.parse(frame)
    } catch (failure) {
      thrown = failure
    }
    const packet = this.packet as mqttPacket.Packet | undefined
    const error = this.error as Error | undefined
    this.packet = undefined
    this.error = undefined
    // A bad string inside a user property does not fail mqtt-packet's parse (the pair just holds
    // null), so the flag is checked even when a packet came out.
    if (thrown !== undefined || error !== undefined || packet === undefined || internals._list.length > 0 || this.badString) {
      internals._resetState()
      // Left where the failed packet stopped, it would offset the next packet's length read.
      internals._pos = 0
      if (thrown instanceof ProtocolError) throw thrown
      if (this.badString) throw new ProtocolError(ReasonCode.MalformedPacket, 'a string is not valid UTF-8 or contains U+0000')
      const message = error?.message ?? (thrown instanceof Error ? thrown.message : 'malformed packet')
      throw new ProtocolError(ReasonCode.MalformedPacket, message)
    }
    return packet
  }
}
