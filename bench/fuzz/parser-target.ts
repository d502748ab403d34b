// Target 1: the broker's parser in-process, no socket. Each case's byte stream goes through the
// engine's Framer and then the same decoding steps the dispatcher takes (lib/handlers/index.ts):
// the protocol header of CONNECT, mqtt-packet through the shared PacketDecoder, the strict MQTT 5
// property reader, the PUBLISH decoder. A ProtocolError is the right answer to bad bytes; any
// other exception is a finding. One decoder serves every case, as one serves every connection in
// the broker, and after each case it must still decode a known packet exactly.
import mqttPacket from 'mqtt-packet'
import { readConnectProperties, readPacketProperties } from '../../lib/codec/packet-properties'
import { PacketDecoder } from '../../lib/codec/decoder'
import { FrameError, Framer, type FrameSink } from '../../lib/codec/framer'
import { decodePublish } from '../../lib/codec/publish-codec'
import { ProtocolError } from '../../lib/errors'
import { DEFAULTS } from '../../lib/options'
import type { FuzzCase } from './cases'
import type { Finding } from './findings'

/** A case taking longer than this to parse is reported: bad bytes must not stall the event loop (a GC pause on a busy machine stays under it). */
const SLOW_CASE_MS = 1000

const CONNECT = 1
const PUBLISH = 3

/** A packet after which the shared decoder must still read the next connection's SUBSCRIBE as sent. */
const PROBE = { cmd: 'subscribe', messageId: 4242, subscriptions: [{ topic: 'probe/#', qos: 1 }], properties: { subscriptionIdentifier: 9 } } as const
const PROBE_BYTES = mqttPacket.generate(PROBE as unknown as mqttPacket.Packet, { protocolVersion: 5 })

export interface ParserStats {
  cases: number
  frames: number
  /** Frames refused with a ProtocolError (or a frame error), by the packet's first step: the expected answers. */
  refused: number
  /** Frames decoded without complaint. */
  decoded: number
}

/** Reads the protocol level as checkProtocolHeader() does; 0 when the name is not MQTT's. */
function protocolLevel (body: Buffer): number {
  if (body.length < 3) return 0
  const nameLength = body.readUInt16BE(0)
  if (body.length < 3 + nameLength) return 0
  return (body[2 + nameLength] as number) & 0x7f
}

export class ParserTarget implements FrameSink {
  readonly stats: ParserStats = { cases: 0, frames: 0, refused: 0, decoded: 0 }
  private readonly decoder = new PacketDecoder()
  private version = 4
  private connected = false
  /** Set once the current case's connection would have been closed. */
  private ended = false
  private current: FuzzCase | undefined
  private framer: Framer | undefined
  private batchSeed = 0

  constructor (private readonly report: (finding: Finding) => void, private readonly maxPacketBytes = DEFAULTS.maxPacketSize) {}

  run (fuzzCase: FuzzCase, batchSeed: number): void {
    this.current = fuzzCase
    this.batchSeed = batchSeed
    this.version = 4
    this.connected = false
    this.ended = false
    this.stats.cases++
    const framer = this.framer = new Framer(this, this.maxPacketBytes)
    const started = performance.now()
    for (const chunk of fuzzCase.chunks) {
      framer.push(chunk)
      if (this.ended) break
    }
    framer.stop()
    const elapsedMs = performance.now() - started
    if (elapsedMs > SLOW_CASE_MS) {
      this.report({ kind: 'slow-parse', message: `a case took ${Math.round(elapsedMs)} ms to parse`, batchSeed, caseIndex: fuzzCase.index, how: fuzzCase.parts.map((p) => p.how).join(', '), bytes: Buffer.concat(fuzzCase.chunks) })
    }
    this.probe()
  }

  onFrame (firstByte: number, body: Buffer, whole: Buffer): void {
    this.stats.frames++
    try {
      this.decode(firstByte, body, whole)
      this.stats.decoded++
    } catch (error) {
      // The broker closes the connection here: nothing after the refused packet is read.
      this.ended = true
      this.framer?.stop()
      if (error instanceof ProtocolError) {
        this.stats.refused++
        return
      }
      const failure = error instanceof Error ? error : new Error(String(error))
      const part = this.current?.parts.find((p) => p.bytes.includes(whole))
      this.report({
        kind: 'parser-exception',
        message: `${failure.name}: ${failure.message}`,
        batchSeed: this.batchSeed,
        caseIndex: this.current?.index,
        how: part?.how,
        bytes: Buffer.from(whole),
        detail: failure.stack
      })
    }
  }

  onFrameError (_error: FrameError): void {
    this.stats.refused++
    this.ended = true
  }

  /** The dispatcher's decoding steps, without the handlers' state. */
  private decode (firstByte: number, body: Buffer, whole: Buffer): void {
    const type = firstByte >> 4
    if (!this.connected) {
      if (type !== CONNECT) throw new ProtocolError(0x82, 'first packet is not CONNECT')
      const level = protocolLevel(body)
      if (level < 3 || level > 5) throw new ProtocolError(0x84, 'unsupported protocol')
      this.version = level
      this.decoder.decode(whole, 4)
      if (level === 5) readConnectProperties(body)
      this.connected = true
      return
    }
    if (type === PUBLISH) {
      decodePublish(firstByte, body, this.version)
      return
    }
    if (this.version === 5) readPacketProperties(type, body)
    this.decoder.decode(whole, this.version)
  }

  /** The shared decoder reads a known packet exactly after whatever the case left behind. */
  private probe (): void {
    let problem: string | undefined
    try {
      const packet = this.decoder.decode(PROBE_BYTES, 5) as mqttPacket.ISubscribePacket
      const subscription = packet.subscriptions[0]
      if (packet.cmd !== 'subscribe' || packet.messageId !== PROBE.messageId || subscription?.topic !== 'probe/#' || packet.properties?.subscriptionIdentifier !== 9) {
        problem = `read back as ${JSON.stringify(packet)}`
      }
    } catch (error) {
      problem = `refused: ${error instanceof Error ? error.message : String(error)}`
    }
    if (problem !== undefined) {
      const fuzzCase = this.current as FuzzCase
      this.report({ kind: 'decoder-state', message: `after a case, the shared decoder misread a valid SUBSCRIBE: ${problem}`, batchSeed: this.batchSeed, caseIndex: fuzzCase.index, how: fuzzCase.parts.map((p) => p.how).join(', '), bytes: Buffer.concat(fuzzCase.chunks) })
    }
  }
}
