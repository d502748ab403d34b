// SUBSCRIBE and UNSUBSCRIBE: validation, packet ids, the promise that SUBACK/UNSUBACK settles,
// requests made while offline (sent once connected), and the record of subscriptions that is
// replayed when a reconnect finds no session on the server.
import type mqttPacket from 'mqtt-packet'
import { ProtocolError, ReasonCode } from '../errors'
import { parseSubscriptionFilter } from '../topics/shared'
import { ClientError } from './errors'
import type { PacketIds } from './packet-ids'
import { encodeSubscribe, encodeUnsubscribe } from './packets'
import type { ClientLink, ClientSubscription, SubscribeProperties } from './types'

interface PendingRequest {
  subscriptions?: ClientSubscription[]
  properties?: SubscribeProperties
  filters?: string[]
  packetId: number
  resolve: (codes: number[]) => void
  reject: (error: Error) => void
}

interface Recorded {
  subscription: ClientSubscription
  properties: SubscribeProperties | undefined
}

function noop (): void {}

export class Requests {
  private readonly sent = new Map<number, PendingRequest>()
  private waiting: PendingRequest[] = []
  /** Filter → what was asked, for resubscribing; recorded when asked, so order is kept. */
  private readonly recorded = new Map<string, Recorded>()
  private connected = false

  constructor (private readonly link: ClientLink, private readonly ids: PacketIds,
    private readonly onRefusedResubscribe: (error: Error) => void) {}

  /** Filters currently subscribed (or being subscribed). */
  get filters (): string[] { return [...this.recorded.keys()] }

  subscribe (subscriptions: ClientSubscription[], properties?: SubscribeProperties): Promise<number[]> {
    if (!Array.isArray(subscriptions) || subscriptions.length === 0) {
      // [MQTT-3.8.3-3] a SUBSCRIBE carries at least one filter
      return Promise.reject(new ClientError('INVALID_PACKET', 'subscribe() needs at least one subscription'))
    }
    for (const sub of subscriptions) {
      const problem = this.filterProblem(sub.filter)
      if (problem !== undefined) return Promise.reject(new ClientError('INVALID_PACKET', `invalid topic filter "${String(sub.filter)}": ${problem}`))
      if (sub.qos !== 0 && sub.qos !== 1 && sub.qos !== 2) return Promise.reject(new ClientError('INVALID_PACKET', `invalid QoS ${String(sub.qos)} for "${sub.filter}"`))
      // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error
      if ((sub.nl ?? sub.noLocal) === true && this.link.protocolVersion === 5 && sub.filter.startsWith('$share/')) {
        return Promise.reject(new ClientError('INVALID_PACKET', `no local is not allowed on shared subscription "${sub.filter}"`))
      }
    }
    try {
      // Encoded once here to catch bad properties now; sent with a real id later.
      encodeSubscribe(1, subscriptions, properties, this.link.protocolVersion)
    } catch (error) {
      return Promise.reject(error)
    }
    for (const subscription of subscriptions) this.recorded.set(subscription.filter, { subscription, properties })
    return this.enqueue({ subscriptions, properties })
  }

  unsubscribe (filters: string[]): Promise<number[]> {
    if (!Array.isArray(filters) || filters.length === 0) {
      // [MQTT-3.10.3-2] an UNSUBSCRIBE carries at least one filter
      return Promise.reject(new ClientError('INVALID_PACKET', 'unsubscribe() needs at least one filter'))
    }
    for (const filter of filters) {
      const problem = this.filterProblem(filter)
      if (problem !== undefined) return Promise.reject(new ClientError('INVALID_PACKET', `invalid topic filter "${String(filter)}": ${problem}`))
    }
    for (const filter of filters) this.recorded.delete(filter)
    return this.enqueue({ filters })
  }

  onSuback (packet: mqttPacket.ISubackPacket): void {
    const request = this.take(packet.messageId, 'SUBACK')
    if (request === undefined) return
    const codes = packet.granted as number[]
    const asked = request.subscriptions ?? []
    // [MQTT-3.9.3-1] one return code per filter, in order
    if (asked.length !== codes.length || request.filters !== undefined) {
      throw new ProtocolError(ReasonCode.ProtocolError, `SUBACK for ${asked.length} filters carries ${codes.length} codes`)
    }
    asked.forEach((subscription, i) => {
      const recorded = this.recorded.get(subscription.filter)
      if ((codes[i] as number) >= 0x80 && recorded?.subscription === subscription) this.recorded.delete(subscription.filter)
    })
    request.resolve(codes)
  }

  onUnsuback (packet: mqttPacket.IUnsubackPacket): void {
    const request = this.take(packet.messageId, 'UNSUBACK')
    if (request === undefined) return
    const filters = request.filters
    if (filters === undefined) throw new ProtocolError(ReasonCode.ProtocolError, 'UNSUBACK answers a SUBSCRIBE')
    // MQTT 3.1.1 UNSUBACK has no per-filter codes: each entry is then 0 (success).
    const codes = this.link.protocolVersion === 5 ? packet.granted : filters.map(() => 0)
    if (codes.length !== filters.length) throw new ProtocolError(ReasonCode.ProtocolError, `UNSUBACK for ${filters.length} filters carries ${codes.length} codes`)
    request.resolve(codes)
  }

  /**
   * A new connection: without a session the server knows none of our subscriptions, so they are
   * made again first; then every request not yet answered goes out, in the order it was made.
   */
  onConnected (sessionPresent: boolean): void {
    this.connected = true
    const unanswered = [...this.sent.values()]
    this.sent.clear()
    for (const request of unanswered) this.ids.release(request.packetId)
    const pending = [...unanswered, ...this.waiting]
    this.waiting = []
    const replay: PendingRequest[] = []
    if (!sessionPresent && this.recorded.size > 0) {
      // A filter whose request is still to go is left to that request: asking twice would bring
      // its retained messages twice.
      const asked = new Set<string>()
      for (const request of pending) for (const sub of request.subscriptions ?? []) asked.add(sub.filter)
      // One SUBSCRIBE per distinct set of properties (a subscription identifier belongs to it).
      const groups = new Map<SubscribeProperties | undefined, ClientSubscription[]>()
      for (const { subscription, properties } of this.recorded.values()) {
        if (asked.has(subscription.filter)) continue
        const group = groups.get(properties)
        if (group === undefined) groups.set(properties, [subscription])
        else group.push(subscription)
      }
      for (const [properties, subscriptions] of groups) {
        replay.push({
          subscriptions,
          properties,
          packetId: 0,
          resolve: (codes) => {
            const refused = subscriptions.filter((_, i) => (codes[i] as number) >= 0x80).map((sub) => sub.filter)
            if (refused.length > 0) this.onRefusedResubscribe(new ClientError('REFUSED', `the server refused the subscriptions ${refused.join(', ')} on resubscribe`))
          },
          reject: noop
        })
      }
    }
    for (const request of [...replay, ...pending]) this.send(request)
  }

  onDisconnected (): void {
    this.connected = false
  }

  failAll (error: Error): void {
    this.connected = false
    for (const request of this.sent.values()) {
      this.ids.release(request.packetId)
      request.reject(error)
    }
    this.sent.clear()
    for (const request of this.waiting) request.reject(error)
    this.waiting = []
  }

  private filterProblem (filter: unknown): string | undefined {
    if (typeof filter !== 'string') return 'is not a string'
    const parsed = parseSubscriptionFilter(filter)
    return typeof parsed === 'string' ? parsed : undefined
  }

  private enqueue (request: Omit<PendingRequest, 'packetId' | 'resolve' | 'reject'>): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const pending: PendingRequest = { ...request, packetId: 0, resolve, reject }
      if (this.connected) this.send(pending)
      else this.waiting.push(pending)
    })
  }

  private send (request: PendingRequest): void {
    const packetId = this.ids.allocate()
    if (packetId === 0) {
      request.reject(new ClientError('QUEUE_FULL', 'all 65535 packet identifiers are in use'))
      return
    }
    request.packetId = packetId
    this.sent.set(packetId, request)
    const version = this.link.protocolVersion
    const packet = request.filters !== undefined
      ? encodeUnsubscribe(packetId, request.filters, version)
      : encodeSubscribe(packetId, request.subscriptions ?? [], request.properties, version)
    this.link.write(packet)
  }

  private take (packetId: number | undefined, what: string): PendingRequest | undefined {
    const request = packetId === undefined ? undefined : this.sent.get(packetId)
    if (request === undefined) throw new ProtocolError(ReasonCode.ProtocolError, `${what} for unknown packet identifier ${String(packetId)}`)
    this.sent.delete(request.packetId)
    this.ids.release(request.packetId)
    return request
  }
}
