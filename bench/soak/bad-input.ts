// Input the broker must refuse without harming anyone else: valid packet sequences (MQTT 3.1.1
// and 5) with bytes flipped, cut short or spliced, random bytes alone or behind a valid CONNECT,
// and PUBLISH packets over max_packet_size, which must never be acknowledged or delivered.
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import { connectPacket, publishPacket, subscribePacket } from '../../test/engine/bad-input/raw'
import type { SoakContext } from './context'
import { OVERSIZE_HEADER } from './ledger'
import { describeReason, WireSession } from './wire-session'

/** How long a malformed connection is given to be closed by the broker before it is dropped. */
const MALFORMED_HOLD_MS = 3000
/** Longest wait for the broker to refuse an oversized packet. A guard, not a timing. */
const OVERSIZE_GUARD_MS = 10_000

function v5 (packet: mqttPacket.Packet): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: 5 })
}

/** Valid openings of a session, each a CONNECT followed by a few packets; the mutations start from these. */
const TEMPLATES: readonly Buffer[] = [
  Buffer.concat([connectPacket('fuzz-v4', { keepaliveSec: 30 }), subscribePacket('fuzz/#', 1, 1), publishPacket('fuzz/a', 'twenty bytes payload', 1, 2)]),
  Buffer.concat([
    v5({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: 'fuzz-v5', properties: { sessionExpiryInterval: 10, receiveMaximum: 10, userProperties: { a: 'b' } } }),
    v5({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fuzz/#', qos: 2, nl: true }], properties: { subscriptionIdentifier: 7 } }),
    v5({ cmd: 'publish', topic: 'fuzz/b', payload: Buffer.from('payload'), qos: 2, messageId: 3, retain: false, dup: false, properties: { topicAlias: 1, contentType: 'text/plain', userProperties: { k: 'v' } } }),
    v5({ cmd: 'publish', topic: '', payload: Buffer.from('by alias'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } })
  ])
]

export class BadInput {
  private readonly sockets = new Set<net.Socket>()

  constructor (private readonly ctx: SoakContext) {}

  start (): void {
    const { ctx } = this
    ctx.every(1000 / ctx.options.malformedRate, () => this.sendMalformed())
    ctx.every(ctx.options.oversizeEverySec * 1000, () => this.sendOversized())
  }

  private mutated (): Buffer {
    const { ctx } = this
    const template = ctx.pick(TEMPLATES)
    const bytes = Buffer.from(template)
    switch (ctx.between(0, 3)) {
      case 0:
        for (let flips = ctx.between(1, 4); flips > 0; flips--) bytes[ctx.between(0, bytes.length - 1)] = ctx.between(0, 255)
        return bytes
      case 1:
        return bytes.subarray(0, ctx.between(1, bytes.length - 1))
      case 2: {
        const at = ctx.between(0, bytes.length)
        return Buffer.concat([bytes.subarray(0, at), this.randomBytes(ctx.between(1, 16)), bytes.subarray(at)])
      }
      default: {
        // A valid CONNECT, then random bytes where the next packets would be.
        return Buffer.concat([connectPacket(`fuzz-random-${ctx.between(0, 9)}`), this.randomBytes(ctx.between(1, 600))])
      }
    }
  }

  private randomBytes (count: number): Buffer {
    const bytes = Buffer.allocUnsafe(count)
    for (let i = 0; i < count; i++) bytes[i] = Math.floor(this.ctx.random() * 256)
    return bytes
  }

  private sendMalformed (): void {
    const { ctx } = this
    const bytes = ctx.random() < 0.25 ? this.randomBytes(ctx.between(1, 600)) : this.mutated()
    const socket = net.connect({ host: '127.0.0.1', port: ctx.port })
    this.sockets.add(socket)
    // A reset from the broker is one of the expected endings.
    socket.on('error', () => {})
    socket.once('connect', () => socket.write(bytes))
    const hold = setTimeout(() => {
      ctx.count('malformed: still open when dropped')
      socket.destroy()
    }, MALFORMED_HOLD_MS)
    socket.once('close', () => {
      clearTimeout(hold)
      this.sockets.delete(socket)
    })
    socket.once('end', () => ctx.count('malformed: closed by the broker'))
    ctx.count('malformed: sent')
  }

  /** A QoS 1 PUBLISH just over max_packet_size, on a topic the healthy subscribers match. */
  private async sendOversized (): Promise<void> {
    const { ctx } = this
    const version = ctx.random() < 0.5 ? 4 : 5
    const session = await WireSession.connect(ctx.port, { clientId: `soak-oversize-v${version}`, version, keepaliveSec: 0 })
    const payload = Buffer.alloc(ctx.options.maxPacketBytes + ctx.between(1, 64 * 1024), 0x6f)
    payload.write(OVERSIZE_HEADER, 0, 'latin1')
    const packet = mqttPacket.generate({ cmd: 'publish', topic: `soak/oversize/v${version}`, payload, qos: 1, messageId: 1, retain: false, dup: false }, { protocolVersion: version })
    ctx.count('oversize: sent')
    session.wire.write(packet)
    const refused = await Promise.race([session.closed.then(() => true), ctx.sleep(OVERSIZE_GUARD_MS).then(() => false)])
    if (session.acknowledged > 0) ctx.violation('a PUBLISH over max_packet_size was acknowledged')
    else if (!refused) ctx.violation(`a PUBLISH over max_packet_size was neither refused nor acknowledged within ${OVERSIZE_GUARD_MS / 1000} s`)
    else ctx.count(`oversize: refused${describeReason(session.disconnectReason)}`)
    session.destroy()
  }

  close (): void {
    for (const socket of this.sockets) socket.destroy()
  }
}
