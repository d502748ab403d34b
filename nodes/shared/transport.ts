// One interface, two transports: the in and out nodes talk to a RoostTransport and never know
// whether the broker runs in this process (embedded) or across the network (remote).
import type { PublishProperties, QoS } from '../../lib'

export type ConnectionState = 'connected' | 'connecting' | 'disconnected'

export interface TransportStatus {
  state: ConnectionState
  /** Connected MQTT clients; only an embedded broker knows it. */
  clients?: number
  /** Why the transport is down (bind failure, refused connection), for the status text. */
  error?: string
  /** The disk store's last write error while it cannot write (an embedded broker with persistence). */
  storeFailure?: string
  /** True while an embedded broker in a cluster cannot reach NATS and serves its own clients alone. */
  clusterAlone?: boolean
}

/** A message as the nodes see it, in either direction. */
export interface TransportMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties?: PublishProperties
}

export type TransportHandler = (message: TransportMessage) => void

export interface SubscribeOptions {
  /** MQTT 5 subscription options: used by the embedded broker, passed on by a remote transport over MQTT 5. */
  noLocal?: boolean
  retainAsPublished?: boolean
  retainHandling?: 0 | 1 | 2
  /** Returned with every message this subscription matches (MQTT 5.0, 3.8.2.1.2). */
  subscriptionIdentifier?: number
}

export interface RoostTransport {
  readonly kind: 'embedded' | 'remote'
  /** True when MQTT 5 properties reach the other side (always for the embedded broker). */
  readonly supportsProperties: boolean
  /** Largest payload a publish may carry, in bytes. */
  readonly messageSizeLimit: number
  readonly status: TransportStatus
  /** Throws on a bad filter or QoS. Returns the function that unsubscribes (idempotent). */
  subscribe: (filter: string, qos: QoS, handler: TransportHandler, options?: SubscribeOptions) => () => void
  /** Resolves when the message is handed over (QoS 0) or acknowledged (QoS 1 and 2). */
  publish: (message: TransportMessage) => Promise<void>
  /**
   * msg.action `connect`: connects when down (with msg.broker's settings first, remote only) and
   * resolves once connected. When up, resolves at once, unless msg.broker is given: then
   * `force: true` cycles the connection with the new settings and anything else is refused, as
   * in core `mqtt in`/`mqtt out`.
   */
  connect: (broker?: Readonly<Record<string, unknown>>) => Promise<void>
  /** msg.action `disconnect`: ends the connection of every node on this config node; their subscriptions stay for the next connect. */
  disconnect: () => Promise<void>
  /** Calls the listener on every status change; returns the function that stops it. */
  onStatus: (listener: (status: TransportStatus) => void) => () => void
  /** Frees every port, socket, timer and listener. Safe to call more than once. */
  close: () => Promise<void>
}

/** A small listener set that cannot leak: every add returns its own remove. */
export class StatusListeners {
  private readonly listeners = new Set<(status: TransportStatus) => void>()

  add (listener: (status: TransportStatus) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  notify (status: TransportStatus): void {
    for (const listener of [...this.listeners]) listener(status)
  }

  get size (): number { return this.listeners.size }

  clear (): void { this.listeners.clear() }
}
