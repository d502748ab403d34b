// The remote transport: one connection per config node through the engine's MQTT client.
// Nodes that subscribe to the same filter share one MQTT subscription; on every (re)connect the
// subscriptions are sent again, then the birth message; before the connection ends on close,
// the close message.
import { type QoS, topicMatches } from '../../lib'
import { parseSubscriptionFilter } from '../../lib/topics/shared'
import type { ClientMessage, ClientOptions, EngineClient, EngineClientFactory } from './client-api'
import { TransportError } from './errors'
import { type RoostTransport, StatusListeners, type SubscribeOptions, type TransportHandler, type TransportMessage, type TransportStatus } from './transport'

export interface RemoteTransportOptions {
  client: ClientOptions
  factory: EngineClientFactory
  birth?: TransportMessage
  close?: TransportMessage
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

const MQTT_MAX_PAYLOAD = 268_435_455

export class RemoteTransport implements RoostTransport {
  readonly kind = 'remote'
  readonly supportsProperties: boolean
  readonly messageSizeLimit = MQTT_MAX_PAYLOAD
  private readonly client: EngineClient
  private readonly filters = new Map<string, FilterEntry>()
  private readonly statusListeners = new StatusListeners()
  private current: TransportStatus = { state: 'connecting' }
  private closing: Promise<void> | undefined
  private readonly downWaiters = new Set<() => void>()

  constructor (private readonly options: RemoteTransportOptions) {
    this.supportsProperties = options.client.protocolVersion === 5
    this.client = options.factory(options.client)
    this.client.on('connect', this.onConnect)
    this.client.on('close', this.onDown)
    this.client.on('offline', this.onDown)
    this.client.on('reconnecting', this.onReconnecting)
    this.client.on('error', this.onClientError)
    this.client.on('message', this.onMessage)
    this.client.connect()
  }

  get status (): TransportStatus { return this.current }

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
    if (firstOrHigher && this.current.state === 'connected') this.sendSubscribe(filter, entry)
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      this.removeSubscriber(filter, subscriber)
    }
  }

  async publish (message: TransportMessage): Promise<void> {
    if (this.closing !== undefined) throw new TransportError('closed', 'The connection is closed')
    // QoS 0 has no delivery promise to keep for later: refuse it now rather than drop it quietly.
    if (message.qos === 0 && this.current.state !== 'connected') throw new TransportError('not-connected', 'Not connected to the broker')
    await this.client.publish(this.outgoing(message))
  }

  onStatus (listener: (status: TransportStatus) => void): () => void {
    return this.statusListeners.add(listener)
  }

  close (): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown (): Promise<void> {
    const closeMessage = this.options.close
    if (closeMessage !== undefined && this.current.state === 'connected') {
      // The broker may be going away at the same moment (an embedded broker in the same deploy):
      // stop waiting for the acknowledgement when the connection drops, or close would hang.
      const down = new Promise<void>((resolve) => { this.downWaiters.add(resolve) })
      try {
        await Promise.race([this.client.publish(this.outgoing(closeMessage)), down])
      } catch (error) {
        this.reportError(error)
      }
      this.downWaiters.clear()
    }
    try {
      await this.client.end()
    } finally {
      this.client.off('connect', this.onConnect)
      this.client.off('close', this.onDown)
      this.client.off('offline', this.onDown)
      this.client.off('reconnecting', this.onReconnecting)
      this.client.off('error', this.onClientError)
      this.client.off('message', this.onMessage)
      this.filters.clear()
      this.setStatus({ state: 'disconnected' })
      this.statusListeners.clear()
    }
  }

  private readonly onConnect = (): void => {
    // Subscriptions are sent on every connect: with a clean session the broker has none, and
    // with a kept session sending them again is harmless [MQTT-3.8.4-3].
    for (const [filter, entry] of this.filters) this.sendSubscribe(filter, entry)
    this.setStatus({ state: 'connected' })
    const birth = this.options.birth
    if (birth !== undefined) this.client.publish(this.outgoing(birth)).catch((error: unknown) => { this.reportError(error) })
  }

  private readonly onDown = (): void => {
    for (const resolve of this.downWaiters) resolve()
    this.downWaiters.clear()
    if (this.current.state !== 'disconnected') this.setStatus({ state: 'disconnected' })
  }

  private readonly onReconnecting = (): void => {
    if (this.closing === undefined) this.setStatus({ state: 'connecting' })
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
    if (this.current.state === 'connected' && this.closing === undefined) {
      this.client.unsubscribe([filter]).catch((error: unknown) => { this.reportError(error) })
    }
  }

  private sendSubscribe (filter: string, entry: FilterEntry): void {
    // Subscription options exist from MQTT 5 on (MQTT 5.0, 3.8.3.1); 3.1.1 has the QoS only.
    if (!this.supportsProperties) {
      this.client.subscribe([{ filter, qos: entry.qos }]).catch((error: unknown) => { this.reportError(error) })
      return
    }
    const { subscriptionIdentifier, ...options } = entry.options
    // The identifier is a property of the SUBSCRIBE packet, the other options belong to the filter.
    const properties = subscriptionIdentifier === undefined ? undefined : { subscriptionIdentifier }
    this.client.subscribe([{ filter, qos: entry.qos, ...options }], properties).catch((error: unknown) => { this.reportError(error) })
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
