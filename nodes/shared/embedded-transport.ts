// The embedded transport: the config node runs the engine's broker in this process, and the in
// and out nodes use its in-process API (no socket, no encoding). A `disconnect` action detaches
// the nodes from that API (their subscriptions stop, publishing is refused) while the broker goes
// on serving its network clients; `connect` attaches them again.
import { type Broker, type BrokerOptions, createBroker, type Logger, MQTT_MAX_PACKET_BYTES, type QoS } from '../../lib'
import { parseSubscriptionFilter } from '../../lib/topics/shared'
import { ConnectionActionError, TransportError } from './errors'
import { type RoostTransport, StatusListeners, type SubscribeOptions, type TransportHandler, type TransportMessage, type TransportStatus } from './transport'

export interface EmbeddedTransportOptions {
  broker: Partial<BrokerOptions>
  logger?: Logger
  /** Called once if the listeners cannot be bound (port in use, no permission). */
  onListenError?: (error: Error) => void
  /** The broker binds its listeners once this settles (a predecessor freeing the port and the store); at once without it. */
  listenAfter?: Promise<void>
}

/** A subscription of a node, kept while detached so that `connect` can make it again. */
interface NodeSubscription {
  filter: string
  qos: QoS
  handler: TransportHandler
  options: SubscribeOptions
  /** The broker's unsubscribe while attached. */
  unsubscribe: (() => void) | undefined
}

/** How often the disk store's state and the link to the cluster's NATS are looked at for the node status: neither has an event for it. */
export const HEALTH_CHECK_MS = 5000

export class EmbeddedTransport implements RoostTransport {
  readonly kind = 'embedded'
  readonly supportsProperties = true
  readonly broker: Broker
  /** The broker's own state; `status` reports it as disconnected while the nodes are detached. */
  private current: TransportStatus = { state: 'connecting', clients: 0 }
  private attached = true
  private readonly subscriptions = new Set<NodeSubscription>()
  private readonly statusListeners = new StatusListeners()
  private readonly listening: Promise<void>
  private closing: Promise<void> | undefined
  private storeFailure: string | undefined
  private clusterAlone = false
  /** Runs checkStore() and checkCluster() for the features this broker has. */
  private readonly healthCheck: NodeJS.Timeout | undefined
  private readonly onClientsChanged = (): void => { this.setStatus({ state: this.current.state, clients: this.broker.clientCount }) }

  constructor (options: EmbeddedTransportOptions) {
    const hooks = options.logger === undefined ? {} : { logger: options.logger }
    this.broker = createBroker(options.broker, hooks)
    this.broker.on('clientConnected', this.onClientsChanged)
    this.broker.on('clientDisconnected', this.onClientsChanged)
    const listen = (): Promise<unknown> => this.broker.listen()
    this.listening = (options.listenAfter === undefined ? listen() : options.listenAfter.then(listen)).then(
      () => {
        // listen() waited for the first attempt to reach NATS: its outcome is known now.
        this.clusterAlone = this.broker.clusterState === 'disconnected'
        this.setStatus({ state: 'connected', clients: this.broker.clientCount })
      },
      (error: Error) => {
        this.setStatus({ state: 'disconnected', clients: 0, error: error.message })
        options.onListenError?.(error)
      })
    const persistence = this.broker.options.persistence
    const clustered = this.broker.options.cluster !== undefined
    if (persistence || clustered) {
      this.healthCheck = setInterval(() => {
        if (persistence) this.checkStore()
        if (clustered) this.checkCluster()
      }, HEALTH_CHECK_MS)
      // Only for the status: it must never keep Node-RED running.
      this.healthCheck.unref()
    }
  }

  get status (): TransportStatus {
    return this.attached || this.current.state !== 'connected' ? this.current : { ...this.current, state: 'disconnected' }
  }

  get messageSizeLimit (): number {
    return this.broker.options.messageSizeLimit > 0 ? this.broker.options.messageSizeLimit : MQTT_MAX_PACKET_BYTES
  }

  /**
   * Looks at the disk store now (the timer does it every HEALTH_CHECK_MS) and tells the status
   * listeners when it started or stopped failing, as `$SYS/broker/store/disk/state` does.
   */
  checkStore (): void {
    if (this.closing !== undefined) return
    const failure = this.broker.statsSnapshot().disk?.failure
    if (failure === this.storeFailure) return
    this.storeFailure = failure
    this.setStatus({ ...this.current })
  }

  /** Looks at the link to NATS now (the timer does it every HEALTH_CHECK_MS) and tells the status listeners when it changed. */
  checkCluster (): void {
    if (this.closing !== undefined || this.current.state !== 'connected') return
    const alone = this.broker.clusterState === 'disconnected'
    if (alone === this.clusterAlone) return
    this.clusterAlone = alone
    this.setStatus({ ...this.current })
  }

  /** Resolves once the listeners are bound (or binding failed). */
  ready (): Promise<void> { return this.listening }

  subscribe (filter: string, qos: QoS, handler: TransportHandler, options: SubscribeOptions = {}): () => void {
    const subscription: NodeSubscription = { filter, qos, handler, options, unsubscribe: undefined }
    if (this.attached) {
      subscription.unsubscribe = this.broker.subscribe(filter, qos, handler, options)
    } else {
      // Detached, the broker does not see it yet: a bad filter must still fail now, not at connect.
      const problem = parseSubscriptionFilter(filter)
      if (typeof problem === 'string') throw new Error(`Invalid topic filter "${filter}": ${problem}`)
    }
    this.subscriptions.add(subscription)
    return () => {
      if (!this.subscriptions.delete(subscription)) return
      subscription.unsubscribe?.()
      subscription.unsubscribe = undefined
    }
  }

  /** Subscriptions the nodes hold through this transport (made or waiting for a connect). */
  get subscriptionCount (): number { return this.subscriptions.size }

  publish (message: TransportMessage): Promise<void> {
    if (!this.attached) return Promise.reject(new TransportError('disconnected', 'Disconnected by a disconnect action'))
    // In-process delivery is synchronous: once publish() returns, every subscriber has it.
    try {
      this.broker.publish(message)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  connect (broker?: Readonly<Record<string, unknown>>): Promise<void> {
    // The broker runs in this process: there is no address, user or client id to change.
    if (broker !== undefined) return Promise.reject(new ConnectionActionError('embedded-options'))
    if (this.closing !== undefined) return Promise.reject(new ConnectionActionError('closed'))
    if (this.attached) return Promise.resolve()
    this.attached = true
    for (const subscription of this.subscriptions) {
      subscription.unsubscribe = this.broker.subscribe(subscription.filter, subscription.qos, subscription.handler, subscription.options)
    }
    this.statusListeners.notify(this.status)
    return Promise.resolve()
  }

  disconnect (): Promise<void> {
    if (!this.attached || this.closing !== undefined) return Promise.resolve()
    this.attached = false
    for (const subscription of this.subscriptions) {
      subscription.unsubscribe?.()
      subscription.unsubscribe = undefined
    }
    this.statusListeners.notify(this.status)
    return Promise.resolve()
  }

  onStatus (listener: (status: TransportStatus) => void): () => void {
    return this.statusListeners.add(listener)
  }

  close (): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown (): Promise<void> {
    clearInterval(this.healthCheck)
    // A close during listen() must wait for the bind, or the port would stay bound behind us.
    await this.listening
    for (const subscription of this.subscriptions) subscription.unsubscribe?.()
    this.subscriptions.clear()
    await this.broker.close()
    this.broker.off('clientConnected', this.onClientsChanged)
    this.broker.off('clientDisconnected', this.onClientsChanged)
    this.setStatus({ state: 'disconnected', clients: 0 })
    this.statusListeners.clear()
  }

  private setStatus (status: TransportStatus): void {
    // Every status carries the store's state: a client connecting must not hide a failing disk.
    if (this.storeFailure === undefined) delete status.storeFailure
    else status.storeFailure = this.storeFailure
    if (this.clusterAlone && status.state === 'connected') status.clusterAlone = true
    else delete status.clusterAlone
    this.current = status
    this.statusListeners.notify(this.status)
  }
}
