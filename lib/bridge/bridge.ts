// One bridge (`connection <name>` and its lines): a client of the remote broker (lib/client) and a
// subscriber of this one. Out: messages matching `out`/`both` topics are remapped and published
// to the remote; QoS 1/2 ones are held, in order, while the remote is away. In: the remote
// subscriptions of `in`/`both` topics live in the bridge's remote session (cleansession false),
// and what arrives is remapped and admitted here with the bridge's origin. The link's state goes
// to the notification topic here and there (with a will there), and to `bridgeState` events.
import type { ConnectionOptions } from 'node:tls'
import { type ClientError, createClient, type MqttClient, type PublishSettle } from '../client'
import type { ClientOptionsInput } from '../client/options'
import type { ClientPublish } from '../client/types'
import type { ClientInfo, DeliveredMessage, Message, Origin, PublishProperties, QoS } from '../types'
import type { BridgeLinkState, BridgeStatus } from '../events'
import { AddressRotation, RestartDelay } from './backoff'
import type { BridgeHost } from './host'
import { MainAddressProbe } from './main-probe'
import type { OutboundQueue } from './outbound'
import type { BridgeSettings } from './settings'
import { BridgeLocalSubscriber } from './subscriber'
import { bridgeTls } from './tls'
import { toLocalTopic, toRemoteTopic } from './topics'

/** Session Expiry asked of an MQTT 5 remote when cleansession is false and none is configured: never. */
const SESSION_FOREVER = 0xFFFFFFFF

function noop (): void {}

/** QoS 0 messages: nothing to account for when they are written. */
const IGNORED: PublishSettle = { settled: noop }

export class Bridge {
  private client: MqttClient | undefined
  private readonly subscriber: BridgeLocalSubscriber
  private readonly origin: Origin
  private readonly localClient: ClientInfo | undefined
  private linkState: BridgeLinkState = 'stopped'
  private lastError: string | undefined
  private idleTimer: NodeJS.Timeout | undefined
  private lastActivityMs = 0
  private running = false
  private tls: ConnectionOptions | undefined
  /** Which address the client tries next; told when a connection succeeds. */
  private rotation: AddressRotation | undefined
  /** Set when round_robin is off and there is more than one address. */
  private readonly mainProbe: MainAddressProbe | undefined

  /**
   * `queue`: what the bridge holds for the remote, kept across a change of the bridge's options
   * and, with a durable store, across restarts (BridgeSet makes it and hands it on).
   */
  constructor (readonly settings: BridgeSettings, private readonly host: BridgeHost, readonly queue: OutboundQueue) {
    this.origin = Object.freeze({ kind: 'bridge', clientId: `$bridge/${settings.name}` })
    this.localClient = settings.localUsername === undefined
      ? undefined
      : { clientId: settings.localClientId, username: settings.localUsername, protocolVersion: 5, cleanSession: false, keepaliveSec: 0, bridge: true }
    queue.maxMessages = host.maxQueuedMessages
    queue.maxBytes = host.maxQueuedBytes
    const main = settings.addresses[0]
    if (!settings.roundRobin && settings.addresses.length > 1 && main !== undefined) {
      this.mainProbe = new MainAddressProbe(main, settings.restartTimeoutCapMs ?? settings.restartTimeoutMs, () => { this.backToMain() })
    }
    this.subscriber = new BridgeLocalSubscriber(this.origin.clientId, this.origin.clientId, this.localClient,
      (message, qos, retain) => { this.forward(message, qos, retain) },
      (error) => { this.host.logger.error(`Bridge ${settings.name}: ${error.message}`) })
  }

  get name (): string { return this.settings.name }

  get status (): BridgeStatus {
    const status: BridgeStatus = { name: this.name, state: this.linkState, queued: this.queue.messages, dropped: this.queue.dropped }
    if (this.client !== undefined && this.linkState !== 'stopped' && this.linkState !== 'idle') status.address = this.client.server
    if (this.lastError !== undefined) status.lastError = this.lastError
    return status
  }

  /** Subscribes here and, unless lazy, connects to the remote. */
  start (): void {
    if (this.running) return
    this.running = true
    const { settings } = this
    this.host.logger.notice(`Bridge ${settings.name} starting (${settings.startType}).`)
    try {
      this.tls = bridgeTls(settings.tls)
    } catch (error) {
      // TLS material that cannot be read never will be: this bridge stays down, the broker runs on.
      this.fail(error instanceof Error ? error.message : String(error))
      this.setState('stopped')
      return
    }
    // The client exists before the local subscriptions, so retained messages they bring are held for it.
    this.client = this.makeClient()
    this.resend(this.client)
    for (const mapping of settings.mappings) {
      if (mapping.direction === 'in') continue
      const refused = this.host.subscribeLocal(this.subscriber, mapping.localFilter, mapping.qos, this.localClient)
      if (refused !== undefined) this.fail(`local subscription to '${mapping.localFilter}' refused: ${refused}`)
    }
    // Lazy: messages held from before count toward the threshold as new ones do.
    if (settings.startType === 'lazy' && this.queue.messages < settings.threshold) this.setState('idle')
    else this.connect()
  }

  /** Unsubscribes here, says the link is down (here, and there before DISCONNECT), ends the client. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.idleTimer)
    this.mainProbe?.stop()
    for (const filter of [...this.subscriber.subscriptions.keys()]) this.host.unsubscribeLocal(this.subscriber, filter)
    const client = this.client
    this.client = undefined
    if (client !== undefined) {
      if (client.connected) this.notifyRemote(client, '0')
      // They stay in the queue: for the bridge that replaces this one, or in the store for the next start.
      if (this.queue.messages > 0) this.host.logger.notice(`Bridge ${this.name} stopped with ${this.queue.messages} messages held for the remote.`)
      await client.end()
    }
    this.notifyLocal('0')
    this.setState('stopped')
    this.host.logger.notice(`Bridge ${this.name} stopped.`)
  }

  private connect (): void {
    if (this.client === undefined) return
    this.setState('connecting')
    this.client.connect()
  }

  private makeClient (): MqttClient {
    const { settings } = this
    const rotation = this.rotation = new AddressRotation(settings.addresses, settings.roundRobin)
    const delay = new RestartDelay(settings.restartTimeoutMs, settings.restartTimeoutCapMs)
    const first = settings.addresses[0] as { host: string, port: number }
    const options: ClientOptionsInput = {
      host: first.host,
      port: first.port,
      pickAddress: () => rotation.pick(),
      // `once`: no restart after a failure.
      reconnectPeriodMs: settings.startType === 'once' ? 0 : Math.max(1, Math.round(settings.restartTimeoutMs)),
      reconnectMaxMs: settings.restartTimeoutCapMs ?? settings.restartTimeoutMs,
      reconnectDelayMs: (attempt) => delay.next(attempt),
      clientId: settings.remoteClientId,
      keepaliveSec: settings.keepaliveSec,
      cleanSession: settings.cleanSession,
      protocolVersion: settings.protocolVersion,
      bridgeMarker: settings.tryPrivate,
      // The hold bounds what waits; the client itself keeps every message it is given.
      maxQueuedMessages: 0,
      // As Mosquitto's bridges: the broker's in-flight window, so a remote lost mid-stream leaves few to re-send.
      maxInflightMessages: this.host.maxInflightMessages > 0 ? this.host.maxInflightMessages : 65535,
      logger: this.host.logger
    }
    if (settings.remoteUsername !== undefined) options.username = settings.remoteUsername
    if (settings.remotePassword !== undefined) options.password = settings.remotePassword
    if (settings.maxPacketSize > 0) options.maxPacketBytes = settings.maxPacketSize
    if (this.tls !== undefined) options.tls = this.tls
    if (settings.notifications && !settings.notificationsLocalOnly) {
      // As Mosquitto: the remote says the link is down when it loses us.
      options.will = { topic: settings.notificationTopic, payload: '0', qos: 1, retain: true }
    }
    if (settings.protocolVersion === 5) {
      options.properties = {}
      if (!settings.cleanSession) options.properties.sessionExpiryInterval = settings.sessionExpiryIntervalSec ?? SESSION_FOREVER
      if (settings.receiveMaximum !== undefined) options.properties.receiveMaximum = settings.receiveMaximum
    }
    const client = createClient(options)
    client.on('connect', ({ sessionPresent }) => { this.onConnected(client, sessionPresent) })
    client.on('offline', () => { this.onOffline(client) })
    client.on('message', (message) => { this.receive(message) })
    client.on('error', (error) => { this.fail(error.message) })
    client.on('end', () => { this.onEnded(client) })
    const remote = settings.mappings.filter((mapping) => mapping.direction !== 'out')
    if (remote.length > 0) {
      // Sent once connected; the client makes them again whenever the remote has no session for us.
      // On MQTT 5, No Local keeps our own messages from coming back [MQTT-3.8.3-3].
      const v5 = settings.protocolVersion === 5
      void client.subscribe(remote.map((mapping) => ({ filter: mapping.remoteFilter, qos: mapping.qos, nl: v5, rap: v5, rh: 0 as const })))
        .then((codes) => { this.checkGrants(codes, remote.map((mapping) => mapping.remoteFilter)) }, noop)
    }
    return client
  }

  private onConnected (client: MqttClient, sessionPresent: boolean): void {
    if (client !== this.client) return
    this.lastError = undefined
    this.rotation?.connected()
    this.host.logger.notice(`Bridge ${this.name} connected to ${client.server} (session present: ${String(sessionPresent)}).`)
    const { settings } = this
    if (settings.attemptUnsubscribe) {
      // A topic that went from in to out must not keep arriving through an old remote session;
      // a filter another line still brings in stays.
      const incoming = new Set(settings.mappings.filter((mapping) => mapping.direction !== 'out').map((mapping) => mapping.remoteFilter))
      const outOnly = settings.mappings.filter((mapping) => mapping.direction === 'out' && !incoming.has(mapping.remoteFilter)).map((mapping) => mapping.remoteFilter)
      if (outOnly.length > 0) client.unsubscribe(outOnly).catch(noop)
    }
    this.notifyRemote(client, '1')
    this.notifyLocal('1')
    this.setState('connected')
    if (settings.startType === 'lazy') this.armIdle()
    const main = settings.addresses[0] as { host: string, port: number }
    if (this.mainProbe !== undefined && client.server !== `${main.host}:${main.port}`) this.mainProbe.start()
  }

  /** The main address answers again: leave the secondary (saying so there) and reconnect, which picks the main one. */
  private backToMain (): void {
    const client = this.client
    if (!this.running || client === undefined || !client.connected) return
    this.host.logger.notice(`Bridge ${this.name}: the main address is back; leaving ${client.server}.`)
    this.notifyRemote(client, '0')
    client.reconnect()
  }

  private onOffline (client: MqttClient): void {
    if (client !== this.client) return
    this.mainProbe?.stop()
    this.host.logger.notice(`Bridge ${this.name} lost its connection to ${client.server}.`)
    this.notifyLocal('0')
    this.setState('connecting')
  }

  private onEnded (client: MqttClient): void {
    if (client !== this.client || !this.running) return
    this.mainProbe?.stop()
    // start_type once after a failure, or a client that can never connect (bad TLS material).
    if (this.queue.messages > 0) this.host.logger.warning(`Bridge ${this.name} gave up with ${this.queue.messages} messages held for the remote; they go when the bridge starts again.`)
    this.notifyLocal('0')
    this.client = undefined
    this.setState('stopped')
  }

  /** A message from this broker for the remote. */
  private forward (message: Message, qos: QoS, retain: boolean): void {
    const { settings } = this
    if (this.host.splitHorizon && message.origin?.kind === 'bridge') return
    const topic = toRemoteTopic(settings.mappings, message.topic)
    const client = this.client
    if (topic === undefined || client === undefined) return
    this.lastActivityMs = Date.now()
    const publish = this.remotePublish(topic, message, qos, retain)
    if (qos === 0) {
      // QoS 0 does not wait for a link that is down, as for any client of the remote.
      if (client.connected) client.publishSettled(publish, IGNORED, 0)
      return
    }
    const held = this.queue.take(message, qos, retain)
    if (held === undefined) {
      if (!this.queue.overflowing) this.host.logger.warning(`Bridge ${this.name}: ${this.queue.messages} messages held for the remote; dropping new ones (max_queued_messages, max_queued_bytes).`)
      this.queue.overflowing = true
      return
    }
    this.queue.overflowing = false
    // The queue position rides as the tag, so settling needs no closure per message.
    client.publishSettled(publish, this.heldSettle, held.seq)
    if (settings.startType === 'lazy' && this.linkState === 'idle' && this.queue.messages >= settings.threshold) this.connect()
  }

  /** The PUBLISH the remote gets for `message` under its remote topic. */
  private remotePublish (topic: string, message: Message, qos: QoS, retain: boolean): ClientPublish {
    return { topic, payload: message.payload, qos, retain: retain && this.settings.outgoingRetain, properties: outgoingProperties(message) }
  }

  /**
   * What the queue held when this client was made (from the bridge this one replaces, or from the
   * store after a restart) goes first, in order, under the topic mapping of now.
   */
  private resend (client: MqttClient): void {
    const pending = this.queue.pending()
    let unmapped = 0
    for (const held of pending) {
      const topic = toRemoteTopic(this.settings.mappings, held.message.topic)
      if (topic === undefined) {
        unmapped++
        this.queue.settle(held.seq)
        continue
      }
      client.publishSettled(this.remotePublish(topic, held.message, held.qos, held.retain), this.heldSettle, held.seq)
    }
    if (pending.length > 0) this.host.logger.notice(`Bridge ${this.name}: ${pending.length - unmapped} held messages queued for the remote${unmapped > 0 ? `; ${unmapped} no longer match an out topic and are dropped` : ''}.`)
  }

  /** A message from the remote for this broker. */
  private receive (delivered: DeliveredMessage): void {
    const topic = toLocalTopic(this.settings.mappings, delivered.topic)
    if (topic === undefined) return
    this.lastActivityMs = Date.now()
    const message: Message = { id: 0, topic, payload: delivered.payload, qos: delivered.qos, retain: delivered.retain, origin: this.origin }
    const properties = delivered.properties
    if (properties !== undefined) {
      // The remote subscription's identifier means nothing here.
      const { subscriptionIdentifier: _id, ...rest } = properties
      if (Object.keys(rest).length > 0) message.properties = rest
    }
    this.host.publishInbound(message, this.localClient)
  }

  private notifyLocal (payload: '0' | '1'): void {
    if (!this.settings.notifications) return
    this.host.publishNotification({ id: 0, topic: this.settings.notificationTopic, payload: Buffer.from(payload), qos: 1, retain: true, origin: this.origin })
  }

  private notifyRemote (client: MqttClient, payload: '0' | '1'): void {
    const { settings } = this
    if (!settings.notifications || settings.notificationsLocalOnly) return
    client.publish({ topic: settings.notificationTopic, payload, qos: 1, retain: true }).catch(noop)
  }

  private checkGrants (codes: number[], filters: string[]): void {
    codes.forEach((code, index) => {
      if (code >= 0x80) this.fail(`the remote refused the subscription to '${filters[index] ?? ''}' (0x${code.toString(16)})`)
    })
  }

  /** Lazy start: the link ends once nothing crossed it for idle_timeout and nothing is held. */
  private armIdle (): void {
    clearTimeout(this.idleTimer)
    const idleMs = this.settings.idleTimeoutMs
    this.lastActivityMs = Date.now()
    const check = (): void => {
      const client = this.client
      if (!this.running || client === undefined || !client.connected) return
      const quietMs = Date.now() - this.lastActivityMs
      if (quietMs < idleMs || this.queue.messages > 0) {
        this.idleTimer = setTimeout(check, Math.max(idleMs - quietMs, 100))
        return
      }
      this.host.logger.notice(`Bridge ${this.name} idle for ${idleMs / 1000} s: stopping until ${this.settings.threshold} messages wait.`)
      this.notifyRemote(client, '0')
      this.client = this.makeClient()
      void client.end()
      this.notifyLocal('0')
      this.setState('idle')
    }
    this.idleTimer = setTimeout(check, idleMs)
  }

  /**
   * A held message was acknowledged or refused by the remote, or cannot be sent at all. One the
   * client gave back because it ended stays held: the next client of the bridge sends it.
   */
  private readonly heldSettle: PublishSettle = {
    settled: (seq, error) => {
      if (error !== undefined) {
        if ((error as ClientError).code === 'CLOSED') return
        this.host.logger.warning(`Bridge ${this.name}: a message was not delivered: ${error.message}`)
      }
      this.queue.settle(seq)
    }
  }

  private fail (why: string): void {
    this.lastError = why
    this.host.logger.warning(`Bridge ${this.name}: ${why}`)
    if (this.running) this.host.stateChanged(this.status)
  }

  private setState (state: BridgeLinkState): void {
    this.linkState = state
    this.host.stateChanged(this.status)
  }
}

/** MQTT 5 properties for the remote: the expiry left, no subscription identifiers of ours. */
function outgoingProperties (message: Message): PublishProperties | undefined {
  const properties = message.properties
  if (properties === undefined && message.expiresAt === undefined) return undefined
  const { subscriptionIdentifier: _id, topicAlias: _alias, ...rest } = properties ?? {}
  if (message.expiresAt !== undefined) rest.messageExpiryInterval = Math.max(1, Math.ceil((message.expiresAt - Date.now()) / 1000))
  return rest
}
