// MQTT.js clients whose traffic the ledger checks: publishers that note each PUBACK/PUBCOMP, and
// healthy subscribers (clean, persistent, or members of a shared subscription) that note every
// message. A connection the broker closes is counted and opened again; what it missed meanwhile
// stays owed, since a subscriber that reads is never the one to blame.
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient, type OnMessageCallback, Store } from 'mqtt'
import type { SoakContext } from './context'
import type { SubscriberEntry } from './ledger'

/** Longest wait for CONNACK or SUBACK, and for the last acknowledgements. A guard, not a timing. */
const GUARD_MS = 10_000

/**
 * Connects MQTT.js without automatic reconnects; rejects when no CONNACK comes. `onMessage` is
 * attached before connecting: a resumed session's messages can arrive before 'connect' is emitted.
 */
export function openMqttjs (port: number, options: IClientOptions, onMessage?: OnMessageCallback): Promise<{ client: MqttClient, connack: IConnackPacket }> {
  const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: GUARD_MS, keepalive: 30, ...options })
  if (onMessage !== undefined) client.on('message', onMessage)
  // Errors after CONNACK end in 'close', which the owner handles.
  client.on('error', () => {})
  return new Promise((resolve, reject) => {
    const onClose = (): void => {
      client.end(true)
      reject(new Error(`${options.clientId ?? 'MQTT.js'}: closed before CONNACK`))
    }
    client.once('close', onClose)
    client.once('connect', (connack) => {
      client.off('close', onClose)
      resolve({ client, connack })
    })
  })
}

/** Resolves when `promise` does, or rejects after GUARD_MS. */
export function guarded<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within ${GUARD_MS} ms`)), GUARD_MS) })
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer))
}

export interface PublisherSpec {
  /** Client id, and the publisher's name in the ledger. */
  name: string
  /** 4 for MQTT 3.1.1, 5 for MQTT 5. */
  version: 4 | 5
  /** Ledger index of this publisher (its topic comes from the ledger). */
  index: number
}

/** A publisher of tracked messages: each acknowledged QoS 1/2 message goes into the ledger. */
export class TrackedPublisher {
  /** Messages sent and not yet acknowledged (or, at QoS 0, written) on the current connection. */
  pending = 0
  private client: MqttClient | undefined
  /** QoS 1/2 messages awaiting their PUBACK/PUBCOMP on the current connection. */
  private inflight = 0
  /**
   * The broker's Receive Maximum (MQTT 5, 3.2.2.3.3): a client never has more QoS 1/2 messages
   * unacknowledged [MQTT-3.3.4-7], and MQTT.js does not hold back by itself.
   */
  private window = Infinity
  private leaving = false

  constructor (private readonly ctx: SoakContext, readonly spec: PublisherSpec) {}

  get ready (): boolean {
    return this.client?.connected === true
  }

  async start (): Promise<void> {
    const { client, connack } = await openMqttjs(this.ctx.port, { clientId: this.spec.name, protocolVersion: this.spec.version, clean: true })
    this.client = client
    this.pending = 0
    this.inflight = 0
    this.window = this.spec.version === 5 ? connack.properties?.receiveMaximum ?? 65535 : Infinity
    client.once('close', () => {
      if (this.leaving) return
      this.ctx.count('publisher: closed by the broker')
      this.client = undefined
      // Unacknowledged messages of the lost connection are simply not owed to anyone.
      this.ctx.after(1000, () => this.reconnect())
    })
  }

  private async reconnect (): Promise<void> {
    while (this.ctx.running && this.client === undefined) {
      try {
        await this.start()
      } catch {
        this.ctx.count('publisher: reconnect failed')
        await this.ctx.sleep(1000)
      }
    }
  }

  /** Publishes one tracked message of `bytes` at `qos`. */
  publish (qos: 0 | 1 | 2, bytes: number): void {
    const client = this.client
    if (client === undefined || !client.connected) {
      this.ctx.count('publisher: offline, message not sent')
      return
    }
    if (qos > 0 && this.inflight >= this.window) {
      this.ctx.count('publisher: Receive Maximum reached, message not sent')
      return
    }
    const { seq, payload } = this.ctx.ledger.payload(this.spec.index, bytes)
    this.pending++
    if (qos > 0) this.inflight++
    client.publish(this.ctx.ledger.topicOf(this.spec.index), payload, { qos }, (error) => {
      if (client !== this.client) return
      this.pending--
      if (qos > 0) this.inflight--
      if (error !== undefined && error !== null) this.ctx.count(`publisher: refused (${error.message})`)
      else if (qos > 0) this.ctx.ledger.acked(this.spec.index, seq, qos as 1 | 2)
    })
  }

  /** Waits (bounded) for the last acknowledgements, then disconnects. */
  async finish (): Promise<void> {
    const until = Date.now() + GUARD_MS
    while (this.pending > 0 && this.ready && Date.now() < until) await this.ctx.sleep(50)
    if (this.pending > 0) this.ctx.count('publisher: unacknowledged at the end', this.pending)
    this.close()
  }

  close (): void {
    this.leaving = true
    this.client?.end(true)
  }
}

export interface SubscriberSpec {
  /** Client id. */
  name: string
  /** 4 for MQTT 3.1.1, 5 for MQTT 5. */
  version: 4 | 5
  /** The one filter it subscribes to (a `$share/...` filter for a group member). */
  filter: string
  /** Subscription QoS: a QoS 2 message then arrives at QoS 2 and must arrive once. */
  qos: 1 | 2
  /** Keeps its session across connections (3.1.1 clean session 0; 5 Clean Start 0 with a Session Expiry). */
  persistent: boolean
}

/** A healthy subscriber: reads everything, so it is owed every acknowledged message it matches. */
export class TrackedSubscriber {
  private client: MqttClient | undefined
  private leaving = false
  private subscribed = false
  /** Session state that outlives one connection: an in-progress QoS 2 message survives a reconnect. */
  private readonly incomingStore = new Store({ clean: false })
  private readonly outgoingStore = new Store({ clean: false })

  constructor (private readonly ctx: SoakContext, readonly spec: SubscriberSpec, private readonly entry: SubscriberEntry) {}

  get online (): boolean {
    return this.client?.connected === true
  }

  /** Connects (again), subscribing unless the broker kept the session. */
  async connect (): Promise<void> {
    const { spec } = this
    this.leaving = false
    const options: IClientOptions = { clientId: spec.name, protocolVersion: spec.version, clean: !spec.persistent }
    if (spec.persistent) {
      options.incomingStore = this.incomingStore
      options.outgoingStore = this.outgoingStore
      if (spec.version === 5) options.properties = { sessionExpiryInterval: 3600 }
    }
    const { client, connack } = await openMqttjs(this.ctx.port, options, this.onMessage)
    this.client = client
    client.once('close', () => this.onClose(client))
    if (spec.persistent && this.subscribed && !connack.sessionPresent) this.ctx.violation(`persistent session of ${spec.name} not resumed`)
    if (!spec.persistent || !connack.sessionPresent) {
      await guarded(client.subscribeAsync(spec.filter, { qos: spec.qos }), `SUBACK for ${spec.name}`)
      this.subscribed = true
    }
  }

  /** Goes offline, with DISCONNECT or by dropping the socket, keeping the session for connect(). */
  async goOffline (graceful: boolean): Promise<void> {
    const client = this.client
    if (client === undefined) return
    this.leaving = true
    if (!graceful) client.stream.destroy()
    await guarded(new Promise<void>((resolve) => client.end(!graceful, {}, () => resolve())), `end of ${this.spec.name}`)
    this.client = undefined
  }

  /** Online and offline in turns while the load runs (persistent subscribers only). */
  async cycle (): Promise<void> {
    let graceful = true
    while (this.ctx.running) {
      await this.ctx.sleep(this.ctx.between(3000, 8000))
      if (!this.ctx.running) break
      await this.goOffline(graceful)
      this.ctx.count(graceful ? 'persistent: offline with DISCONNECT' : 'persistent: offline by dropping the socket')
      graceful = !graceful
      await this.ctx.sleep(this.ctx.between(1000, 3000))
      await this.reconnect()
    }
  }

  /** Connects until it works or the run closes (for the drain, persistent subscribers must be back). */
  async reconnect (): Promise<void> {
    while (this.ctx.open && !this.online) {
      try {
        await this.connect()
      } catch {
        this.ctx.count('subscriber: reconnect failed')
        await this.ctx.sleep(500)
      }
    }
  }

  close (): void {
    this.leaving = true
    this.client?.end(true)
  }

  private readonly onMessage: OnMessageCallback = (_topic, payload, packet) => {
    this.ctx.ledger.received(this.entry, payload, packet.qos)
  }

  private onClose (client: MqttClient): void {
    if (this.leaving || client !== this.client) return
    this.ctx.count('healthy subscriber: closed by the broker')
    this.client = undefined
    this.ctx.after(500, () => this.reconnect())
  }
}
