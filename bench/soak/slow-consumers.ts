// Consumers that fall behind, and the flood that makes them: a raw QoS 0 publisher on
// soak/bulk/<n>/flood with two raw readers that keep up, and a population of slow consumers
// (MQTT 3.1.1 and 5, raw sockets and MQTT.js) that pause reading for a while, hang for good, or
// never read again. None of them is owed anything; the broker may drop their QoS 0 messages and
// close them, but must stay up and keep serving everyone else.
import type { MqttClient } from 'mqtt'
import { publishPacket } from '../generator/packets'
import { WireClient } from '../generator/wire'
import { Pacer, type SoakContext } from './context'
import { guarded, openMqttjs } from './mqttjs'
import { describeReason, WireSession, type WireSessionOptions } from './wire-session'

const TICK_MS = 20
/** Unsent bytes past which the bulk publisher waits: it floods the broker, not its own socket. */
const BULK_BACKLOG_BYTES = 1024 * 1024
const BULK_TOPICS = 8

/** How a slow consumer behaves, and what it subscribes to. */
interface Kind {
  /** Shown in its counters: `slow <name>: opened`. */
  name: string
  /** Raw session options (the client id is added); undefined for an MQTT.js client. */
  wire?: Omit<WireSessionOptions, 'clientId'>
  /** MQTT.js protocol version, for the MQTT.js kinds. */
  mqttjs?: 4 | 5
  /** 'pause': stops reading for a while, then reads again; 'hang': stops reading and pinging; 'never': stops reading, still pings. */
  behaviour: 'pause' | 'hang' | 'never'
}

/** In the order slots are filled, so a small population still has the kinds that matter most. */
const KINDS: readonly Kind[] = [
  // The reported crash: an MQTT 5 subscriber with keepalive 5 that hangs while large messages come.
  { name: 'v5 hanging, large', wire: { version: 5, keepaliveSec: 5, filter: 'soak/large/#', qos: 1 }, behaviour: 'hang' },
  { name: 'v4 pausing', wire: { version: 4, keepaliveSec: 20, filter: 'soak/#', qos: 1 }, behaviour: 'pause' },
  { name: 'v5 pausing', wire: { version: 5, keepaliveSec: 20, filter: 'soak/#', qos: 1 }, behaviour: 'pause' },
  { name: 'v4 never reading, large', wire: { version: 4, keepaliveSec: 0, filter: 'soak/large/#', qos: 1 }, behaviour: 'never' },
  { name: 'MQTT.js v5 paused', mqttjs: 5, behaviour: 'pause' },
  { name: 'v5 never reading, QoS 0', wire: { version: 5, keepaliveSec: 0, filter: 'soak/bulk/#', qos: 0 }, behaviour: 'never' },
  { name: 'MQTT.js v4 paused', mqttjs: 4, behaviour: 'pause' },
  { name: 'v5 hanging', wire: { version: 5, keepaliveSec: 5, filter: 'soak/#', qos: 1 }, behaviour: 'hang' }
]

/** How long a consumer that stopped for good is kept before it is replaced (a paused socket cannot see the broker close it). */
const STOPPED_LIFE_MS: readonly [number, number] = [15_000, 40_000]
/** How long a stopped consumer reads again at the end of its life, to learn whether the broker closed it. */
const LAST_LOOK_MS = 2000

export class SlowConsumers {
  private bulk: WireClient | undefined
  private readonly bulkPacer: Pacer
  private bulkTopic = 0
  /** A new bulk publisher connection is on its way. */
  private reopening = false
  private readonly readers: WireSession[] = []
  private readonly wireSessions = new Set<WireSession>()
  private readonly mqttjsClients = new Set<MqttClient>()
  private opened = 0
  /** One QoS 0 PUBLISH per bulk topic, encoded once. */
  private readonly bulkPackets: Buffer[] = []

  constructor (private readonly ctx: SoakContext) {
    this.bulkPacer = new Pacer(ctx.options.bulkRate)
    for (let i = 0; i < BULK_TOPICS; i++) this.bulkPackets.push(publishPacket(`soak/bulk/${i}/flood`, Buffer.alloc(64 + i * 16, 0x62), 0, 0))
  }

  async start (): Promise<void> {
    const { ctx } = this
    for (const version of [4, 5] as const) {
      const reader = await WireSession.connect(ctx.port, { clientId: `soak-bulk-reader-v${version}`, version, keepaliveSec: 30, filter: 'soak/bulk/#', qos: 0 })
      reader.closed.then(() => { if (ctx.running) ctx.count('bulk: reader closed by the broker') }, () => {})
      this.readers.push(reader)
    }
    await this.openBulk()
    ctx.every(TICK_MS, () => this.flood())
    for (let slot = 0; slot < ctx.options.slowConsumers; slot++) ctx.guard(() => this.occupy(KINDS[slot % KINDS.length] as Kind))
  }

  /** QoS 0 messages delivered to the two readers that keep up. */
  get bulkDelivered (): number {
    return this.readers.reduce((sum, reader) => sum + reader.messages, 0)
  }

  private async openBulk (): Promise<void> {
    this.bulk = await WireClient.connect(this.ctx.port, 'soak-bulk-publisher')
  }

  private flood (): void {
    const { ctx } = this
    const bulk = this.bulk
    if (bulk === undefined || bulk.closed) {
      if (bulk !== undefined) ctx.count('bulk: publisher closed by the broker')
      this.bulk = undefined
      if (!this.reopening) {
        this.reopening = true
        ctx.after(1000, () => this.openBulk().finally(() => { this.reopening = false }))
      }
      return
    }
    // Due messages are skipped, not saved up, while the broker does not take what was sent.
    const count = this.bulkPacer.due()
    if (count === 0 || bulk.socket.writableLength > BULK_BACKLOG_BYTES) return
    const batch: Buffer[] = []
    for (let i = 0; i < count; i++) batch.push(this.bulkPackets[this.bulkTopic++ % BULK_TOPICS] as Buffer)
    bulk.write(Buffer.concat(batch))
    ctx.count('bulk: sent', count)
  }

  /** One slot of the population: a consumer of this kind, replaced by a new one when it ends. */
  private async occupy (kind: Kind): Promise<void> {
    const { ctx } = this
    while (ctx.running) {
      const clientId = `soak-slow-${this.opened++}`
      try {
        if (kind.wire === undefined) await this.runMqttjs(kind, clientId)
        else await this.runWire(kind, kind.wire, clientId)
      } catch {
        ctx.count(`slow ${kind.name}: failed to connect`)
      }
      await ctx.sleep(ctx.between(1000, 2000))
    }
  }

  private async runWire (kind: Kind, options: Omit<WireSessionOptions, 'clientId'>, clientId: string): Promise<void> {
    const { ctx } = this
    const session = await WireSession.connect(ctx.port, { ...options, clientId })
    this.wireSessions.add(session)
    ctx.count(`slow ${kind.name}: opened`)
    let closed = false
    // A close after the load ended is the soak's own doing.
    let closedByBroker = false
    session.closed.then(() => { closed = true; closedByBroker = ctx.running }, () => {})
    await Promise.race([session.closed, ctx.sleep(ctx.between(1000, 4000))])
    if (kind.behaviour === 'pause') {
      while (ctx.running && !closed) {
        session.pause()
        await Promise.race([session.closed, ctx.sleep(ctx.between(5000, 15_000))])
        session.resume()
        await Promise.race([session.closed, ctx.sleep(ctx.between(2000, 6000))])
      }
    } else if (!closed) {
      if (kind.behaviour === 'hang') session.stall()
      else session.pause()
      await Promise.race([ctx.stopped, ctx.sleep(ctx.between(...STOPPED_LIFE_MS))])
      session.resume()
      await Promise.race([session.closed, ctx.sleep(LAST_LOOK_MS)])
    }
    this.wireSessions.delete(session)
    ctx.count(`slow ${kind.name}: ${outcome(closed, closedByBroker, session.disconnectReason)}`)
    session.destroy()
  }

  /** An MQTT.js subscriber whose socket stops being read for a while. */
  private async runMqttjs (kind: Kind, clientId: string): Promise<void> {
    const { ctx } = this
    const { client } = await openMqttjs(ctx.port, { clientId, protocolVersion: kind.mqttjs, clean: true, keepalive: 60 })
    this.mqttjsClients.add(client)
    let disconnectReason: number | undefined
    client.on('disconnect', (packet) => { disconnectReason = packet.reasonCode })
    let closed = false
    let closedByBroker = false
    const closedPromise = new Promise<void>((resolve) => client.once('close', () => {
      closed = true
      closedByBroker = ctx.running
      resolve()
    }))
    await guarded(client.subscribeAsync('soak/#', { qos: 1 }), `SUBACK for ${clientId}`)
    ctx.count(`slow ${kind.name}: opened`)
    while (ctx.running && !closed) {
      await Promise.race([closedPromise, ctx.sleep(ctx.between(2000, 6000))])
      if (closed) break
      client.stream.pause()
      await Promise.race([closedPromise, ctx.sleep(ctx.between(5000, 15_000))])
      client.stream.resume()
    }
    this.mqttjsClients.delete(client)
    ctx.count(`slow ${kind.name}: ${outcome(closed, closedByBroker, disconnectReason)}`)
    client.end(true)
  }

  close (): void {
    this.bulk?.destroy()
    for (const session of [...this.readers, ...this.wireSessions]) session.destroy()
    for (const client of this.mqttjsClients) client.end(true)
  }
}

/** How a slow consumer's life ended, for its counter. */
function outcome (closed: boolean, closedByBroker: boolean, reasonCode: number | undefined): string {
  if (closedByBroker) return `closed by the broker${describeReason(reasonCode)}`
  return closed ? 'closed when the load ended' : 'still connected when dropped'
}
