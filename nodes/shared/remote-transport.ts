// The remote transport: one connection per config node through the engine's MQTT client.
// Nodes that subscribe to the same filter share one MQTT subscription; on every (re)connect the
// subscriptions are sent again, then the birth message; before the connection ends on close or
// on a `disconnect` action, the close message. A `connect` action makes a new client, with the
// settings msg.broker changed (broker-overrides.ts).
import { type QoS, topicMatches } from '../../lib'
import { parseSubscriptionFilter } from '../../lib/topics/shared'
import { applyBrokerOverrides, type RemoteSettings } from './broker-overrides'
import type { ClientMessage, ClientOptions, EngineClient, EngineClientFactory } from './client-api'
import { ConnectionActionError, TransportError } from './errors'
import { type RoostTransport, StatusListeners, type SubscribeOptions, type TransportHandler, type TransportMessage, type TransportStatus } from './transport'

export interface RemoteTransportOptions {
  client: ClientOptions
  factory: EngineClientFactory
  birth?: TransportMessage
  close?: TransportMessage
  /** False: stay disconnected until a node's `connect` action (core `mqtt-broker`'s "connect automatically"). */
  autoConnect?: boolean
  /** Errors that concern no single node (a failed SUBSCRIBE, a socket error). */
  onError?: (error: Error) => void
}

interface Subscriber { handler: TransportHandler, qos: QoS }

interface FilterEntry {
  /** The filter that topics are matched against: without the $share/<group>/ prefix. */
  matchFilter: string
  subscribers: Set<Subscriber>
  qos: QoS
  options: SubscribeOptions
}

interface ConnectWaiter { resolve: () => void, reject: (error: Error) => void }

const MQTT_MAX_PAYLOAD = 268_435_455

export class RemoteTransport implements RoostTransport {
  readonly kind = 'remote'
  readonly messageSizeLimit = MQTT_MAX_PAYLOAD
  /** The client of the connection; undefined while disconnected on purpose (an action, no auto-connect, closed). */
  private client: EngineClient | undefined
  private settings: RemoteSettings
  private readonly filters = new Map<string, FilterEntry>()
  private readonly statusListeners = new StatusListeners()
  private current: TransportStatus = { state: 'connecting' }
  private closing: Promise<void> | undefined
  private readonly downWaiters = new Set<() => void>()
  private readonly connectWaiters = new Set<ConnectWaiter>()

  constructor (private readonly options: RemoteTransportOptions) {
    this.settings = { client: options.client }
    if (options.birth !== undefined) this.settings.birth = options.birth
    if (options.close !== undefined) this.settings.close = options.close
    if (options.autoConnect === false) this.current = { state: 'disconnected' }
    else this.start()
  }

  get status (): TransportStatus { return this.current }

  /** True when MQTT 5 properties reach the broker: a `connect` action may change the version. */
  get supportsProperties (): boolean { return this.settings.client.protocolVersion === 5 }

  /** The settings the next connection is made with (msg.broker of a `connect` action changes them). */
  get connectionSettings (): Readonly<RemoteSettings> { return this.settings }

  /** Number of distinct filters subscribed at the remote broker. */
  get filterCount (): number { return this.filters.size }

  subscribe (filter: string, qos: QoS, handler: TransportHandler, options: SubscribeOptions = {}): () => void {
    const parsed = parseSubscriptionFilter(filter)
    if (typeof parsed === 'string') throw new Error(`Invalid topic filter "${filter}": ${parsed}`)
    const matchFilter = parsed.filter
    const subscriber: Subscriber = { handler, qos }
    let entry = this.filters.get(filter)
    const firstOrHigher = entry === undefined || qos > entry.qos
    if (entry === undefined) {
      entry = { matchFilter, subscribers: new Set(), qos, options }
      this.filters.set(filter, entry)
    }
    entry.subscribers.add(subscriber)
    entry.qos = Math.max(entry.qos, qos) as QoS
    if (firstOrHigher && this.client !== undefined && this.current.state === 'connected') this.sendSubscribe(this.client, filter, entry)
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      this.removeSubscriber(filter, subscriber)
    }
  }

  async publish (message: TransportMessage): Promise<void> {
    if (this.closing !== undefined) throw new TransportError('closed', 'The connection is closed')
    // Disconnected on purpose: nothing would ever send a queued message.
    if (this.client === undefined) throw new TransportError('disconnected', 'Disconnected by a disconnect action')
    // QoS 0 has no delivery promise to keep for later: refuse it now rather than drop it quietly.
    if (message.qos === 0 && this.current.state !== 'connected') throw new TransportError('not-connected', 'Not connected to the broker')
    await this.client.publish(this.outgoing(message))
  }

  async connect (broker?: Readonly<Record<string, unknown>>): Promise<void> {
    if (this.closing !== undefined) throw new ConnectionActionError('closed')
    if (this.client !== undefined) {
      if (broker === undefined) return
      // Core `mqtt-broker` refuses to cycle a live connection unless asked to with force.
      if (broker.force !== true && broker.force !== 'true') throw new ConnectionActionError('already-connected')
      const next = applyBrokerOverrides(this.settings, broker)
      await this.stop()
      this.settings = next
    } else if (broker !== undefined) {
      this.settings = applyBrokerOverrides(this.settings, broker)
    }
    if (this.closing !== undefined) throw new ConnectionActionError('closed')
    // Another connect action may have started the client while this one waited for the stop.
    const connected = new Promise<void>((resolve, reject) => { this.connectWaiters.add({ resolve, reject }) })
    if (this.client === undefined) this.start()
    else if (this.current.state === 'connected') this.settleConnectWaiters()
    await connected
  }

  async disconnect (): Promise<void> {
    await this.stop()
  }

  onStatus (listener: (status: TransportStatus) => void): () => void {
    return this.statusListeners.add(listener)
  }

  close (): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown (): Promise<void> {
    try {
      await this.stop()
    } finally {
      this.filters.clear()
      this.setStatus({ state: 'disconnected' })
      this.statusListeners.clear()
    }
  }

  /** A new client with the current settings, connecting (and reconnecting) until stopped. */
  private start (): void {
    let client: EngineClient
    try {
      client = this.options.factory(this.settings.client)
    } catch (error) {
      // Options the client refuses (a password without a user name before MQTT 5) never connect.
      this.setStatus({ state: 'disconnected', error: error instanceof Error ? error.message : String(error) })
      this.rejectConnectWaiters(error instanceof Error ? error : new Error(String(error)))
      return
    }
    this.client = client
    this.follow(client, 'on')
    this.setStatus({ state: 'connecting' })
    client.connect()
  }

  /** Publishes the close message (when connected), ends the client and forgets it. Subscriptions stay. */
  private async stop (): Promise<void> {
    const client = this.client
    if (client === undefined) return
    this.client = undefined
    this.rejectConnectWaiters(new ConnectionActionError('cancelled'))
    const closeMessage = this.settings.close
    if (closeMessage !== undefined && this.current.state === 'connected') {
      // The broker may be going away at the same moment (an embedded broker in the same deploy):
      // stop waiting for the acknowledgement when the connection drops, or close would hang.
      const down = new Promise<void>((resolve) => { this.downWaiters.add(resolve) })
      try {
        await Promise.race([client.publish(this.outgoing(closeMessage)), down])
      } catch (error) {
        this.reportError(error)
      }
      this.downWaiters.clear()
    }
    try {
      await client.end()
    } finally {
      this.follow(client, 'off')
      // A connect action may have started the next client while this one ended.
      if (this.client === undefined) this.setStatus({ state: 'disconnected' })
    }
  }

  /** Starts ('on') or stops ('off') listening to a client's events. */
  private follow (client: EngineClient, listen: 'on' | 'off'): void {
    client[listen]('connect', this.onConnect)
    client[listen]('close', this.onDown)
    client[listen]('offline', this.onDown)
    client[listen]('reconnecting', this.onReconnecting)
    client[listen]('error', this.onClientError)
    client[listen]('message', this.onMessage)
  }

  private settleConnectWaiters (): void {
    for (const waiter of this.connectWaiters) waiter.resolve()
    this.connectWaiters.clear()
  }

  private rejectConnectWaiters (error: Error): void {
    for (const waiter of this.connectWaiters) waiter.reject(error)
    this.connectWaiters.clear()
  }

  private readonly onConnect = (): void => {
    const client = this.client
    // A client being stopped may still finish connecting: it is not the connection any more.
    if (client === undefined) return
    // Subscriptions are sent on every connect: with a clean session the broker has none, and
    // with a kept session sending them again is harmless [MQTT-3.8.4-3].
    for (const [filter, entry] of this.filters) this.sendSubscribe(client, filter, entry)
    this.setStatus({ state: 'connected' })
    this.settleConnectWaiters()
    const birth = this.settings.birth
    if (birth !== undefined) client.publish(this.outgoing(birth)).catch((error: unknown) => { this.reportError(error) })
  }

  private readonly onDown = (): void => {
    for (const resolve of this.downWaiters) resolve()
    this.downWaiters.clear()
    if (this.current.state !== 'disconnected') this.setStatus({ state: 'disconnected' })
  }

  private readonly onReconnecting = (): void => {
    if (this.closing === undefined && this.client !== undefined) this.setStatus({ state: 'connecting' })
  }

  private readonly onClientError = (error: Error): void => {
    this.reportError(error)
  }

  private readonly onMessage = (message: ClientMessage): void => {
    for (const entry of this.filters.values()) {
      if (!topicMatches(entry.matchFilter, message.topic)) continue
      for (const subscriber of entry.subscribers) {
        const qos = Math.min(message.qos, subscriber.qos) as QoS
        const delivered: TransportMessage = { topic: message.topic, payload: message.payload, qos, retain: message.retain }
        if (message.properties !== undefined) delivered.properties = message.properties
        try {
          subscriber.handler(delivered)
        } catch (error) {
          this.reportError(error)
        }
      }
    }
  }

  private removeSubscriber (filter: string, subscriber: Subscriber): void {
    const entry = this.filters.get(filter)
    if (entry === undefined) return
    entry.subscribers.delete(subscriber)
    if (entry.subscribers.size > 0) return
    this.filters.delete(filter)
    if (this.client !== undefined && this.current.state === 'connected' && this.closing === undefined) {
      this.client.unsubscribe([filter]).catch((error: unknown) => { this.reportError(error) })
    }
  }

  private sendSubscribe (client: EngineClient, filter: string, entry: FilterEntry): void {
    // Subscription options exist from MQTT 5 on (MQTT 5.0, 3.8.3.1); 3.1.1 has the QoS only.
    if (!this.supportsProperties) {
      client.subscribe([{ filter, qos: entry.qos }]).catch((error: unknown) => { this.reportError(error) })
      return
    }
    const { subscriptionIdentifier, ...options } = entry.options
    // The identifier is a property of the SUBSCRIBE packet, the other options belong to the filter.
    const properties = subscriptionIdentifier === undefined ? undefined : { subscriptionIdentifier }
    client.subscribe([{ filter, qos: entry.qos, ...options }], properties).catch((error: unknown) => { this.reportError(error) })
  }

  private outgoing (message: TransportMessage): ClientMessage {
    const out: ClientMessage = { topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain }
    // An MQTT 3.1.1 connection has no place for properties: they are dropped, not an error.
    if (this.supportsProperties && message.properties !== undefined) out.properties = message.properties
    return out
  }

  private reportError (error: unknown): void {
    this.options.onError?.(error instanceof Error ? error : new Error(String(error)))
  }

  private setStatus (status: TransportStatus): void {
    this.current = status
    this.statusListeners.notify(status)
  }
}
