// Connections that come and go: connect/disconnect cycles (raw and MQTT.js, 3.1.1 and 5, with
// DISCONNECT or by dropping the socket), takeovers of a few client ids, whose old connection the
// broker must close [MQTT-3.1.4-3], and half-open sockets: silent, a CONNECT cut short, a PUBLISH
// cut short, or half-closed right after CONNECT.
import net from 'node:net'
import { connectPacket, publishPacket } from '../../test/engine/bad-input/raw'
import type { SoakContext } from './context'
import { guarded, openMqttjs } from './mqttjs'
import { WireSession } from './wire-session'

/** Cycles in progress at once; a slower broker gets fewer new ones rather than a pile-up. */
const MAX_CYCLES_IN_FLIGHT = 8
const TAKEOVER_IDS = 4
/** Longest wait for the broker to close a taken-over connection. A guard, not a timing. */
const TAKEOVER_GUARD_MS = 5000
/** Longest a half-open socket is held before the soak drops it itself. */
const HALF_OPEN_HOLD_MS = 30_000

type HalfOpenKind = 'silent' | 'CONNECT cut short' | 'PUBLISH cut short, keepalive 0' | 'half-closed after CONNECT'
const HALF_OPEN_KINDS: readonly HalfOpenKind[] = ['silent', 'CONNECT cut short', 'PUBLISH cut short, keepalive 0', 'half-closed after CONNECT']

/** The bytes a half-open socket sends before it goes quiet. */
function halfOpenBytes (kind: HalfOpenKind, index: number): Buffer {
  const connect = connectPacket(`soak-half-open-${index}`, { keepaliveSec: 0 })
  switch (kind) {
    case 'silent': return Buffer.alloc(0)
    case 'CONNECT cut short': return connect.subarray(0, 7)
    // A PUBLISH whose header announces 100 KB, of which the topic and 10 bytes come.
    case 'PUBLISH cut short, keepalive 0': return Buffer.concat([connect, publishPacket('half-open/cut', Buffer.alloc(100 * 1024)).subarray(0, 4 + 2 + 13 + 10)])
    default: return connect
  }
}

export class Churn {
  private cyclesInFlight = 0
  private cycles = 0
  private readonly holders = new Map<string, WireSession>()
  private readonly halfOpen = new Set<net.Socket>()
  private halfOpenOpened = 0
  private readonly sessions = new Set<WireSession>()

  constructor (private readonly ctx: SoakContext) {}

  start (): void {
    const { ctx } = this
    ctx.every(1000 / ctx.options.churnRate, () => this.cycle())
    ctx.every(1000 / ctx.options.takeoverRate, () => this.takeOver())
    for (let slot = 0; slot < ctx.options.halfOpen; slot++) ctx.guard(() => this.holdHalfOpen(HALF_OPEN_KINDS[slot % HALF_OPEN_KINDS.length] as HalfOpenKind))
  }

  private cycle (): void {
    if (this.cyclesInFlight >= MAX_CYCLES_IN_FLIGHT) {
      this.ctx.count('churn: cycle skipped, too many in progress')
      return
    }
    this.cyclesInFlight++
    const n = this.cycles++
    const run = n % 3 === 2 ? this.mqttjsCycle(n) : this.wireCycle(n)
    run.then(() => this.ctx.count('churn: cycles'), () => this.ctx.count('churn: cycle failed'))
      .finally(() => { this.cyclesInFlight-- })
  }

  /** Raw 3.1.1 or 5: CONNECT, SUBSCRIBE, then DISCONNECT or a dropped socket. */
  private async wireCycle (n: number): Promise<void> {
    const session = await WireSession.connect(this.ctx.port, { clientId: `soak-churn-${n}`, version: n % 2 === 0 ? 4 : 5, keepaliveSec: 10, filter: `churn/${n % 10}/#`, qos: 1 })
    this.sessions.add(session)
    if (n % 4 < 2) session.disconnect()
    else session.destroy()
    await guarded(session.closed, 'close')
    this.sessions.delete(session)
  }

  private async mqttjsCycle (n: number): Promise<void> {
    const { client } = await openMqttjs(this.ctx.port, { clientId: `soak-churn-${n}`, protocolVersion: n % 2 === 0 ? 4 : 5, clean: true })
    try {
      await guarded(client.subscribeAsync(`churn/${n % 10}/#`, { qos: 2 }), 'SUBACK')
      await guarded(client.publishAsync(`churn/${n % 10}/x`, 'bye', { qos: 1 }), 'PUBACK')
    } finally {
      await guarded(client.endAsync(), 'end')
    }
  }

  /** A new connection with a client id already connected: the old connection must be closed. */
  private async takeOver (): Promise<void> {
    const { ctx } = this
    const clientId = `soak-takeover-${ctx.between(0, TAKEOVER_IDS - 1)}`
    const previous = this.holders.get(clientId)
    let next: WireSession
    try {
      next = await WireSession.connect(ctx.port, { clientId, version: ctx.random() < 0.5 ? 4 : 5, keepaliveSec: 30 })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (message.startsWith('CONNACK')) ctx.violation(`takeover refused: ${message}`)
      else ctx.count(`takeover: failed (${message})`)
      return
    }
    this.holders.set(clientId, next)
    if (previous === undefined) return
    const closed = await Promise.race([previous.closed.then(() => true), ctx.sleep(TAKEOVER_GUARD_MS).then(() => false)])
    if (!closed) ctx.violation('a taken-over connection was left open')
    else ctx.count(`takeover: old connection closed${previous.options.version === 5 ? ` (DISCONNECT 0x${(previous.disconnectReason ?? 0).toString(16)})` : ''}`)
    previous.destroy()
  }

  /** One slot of half-open sockets: each held until the broker closes it, or for HALF_OPEN_HOLD_MS. */
  private async holdHalfOpen (kind: HalfOpenKind): Promise<void> {
    const { ctx } = this
    while (ctx.running) {
      const socket = net.connect({ host: '127.0.0.1', port: ctx.port, allowHalfOpen: true })
      this.halfOpen.add(socket)
      socket.on('error', () => {})
      socket.resume()
      // With allowHalfOpen the broker's FIN ends the socket's reading ('end') without closing it.
      const closed = new Promise<void>((resolve) => {
        socket.once('end', () => resolve())
        socket.once('close', () => resolve())
      })
      socket.once('connect', () => {
        const bytes = halfOpenBytes(kind, this.halfOpenOpened++)
        if (kind === 'half-closed after CONNECT') socket.end(bytes)
        else if (bytes.length > 0) socket.write(bytes)
      })
      const closedByBroker = await Promise.race([closed.then(() => true), ctx.sleep(HALF_OPEN_HOLD_MS).then(() => false)])
      // After the load the soak closes them itself.
      if (!ctx.running) break
      const held = `still open after ${HALF_OPEN_HOLD_MS / 1000} s`
      // The connect timeout (10 s) must end a socket that never completes its CONNECT.
      if (!closedByBroker && (kind === 'silent' || kind === 'CONNECT cut short')) ctx.violation(`a socket with no complete CONNECT (${kind}) was ${held}`)
      ctx.count(`half-open ${kind}: ${closedByBroker ? 'closed by the broker' : held}`)
      socket.destroy()
      this.halfOpen.delete(socket)
      // A broker that closes at once must not turn this slot into a connection flood.
      await ctx.sleep(ctx.between(500, 1500))
    }
  }

  close (): void {
    for (const socket of this.halfOpen) socket.destroy()
    for (const session of [...this.holders.values(), ...this.sessions]) session.destroy()
  }
}
