// Plain data shapes shared by the engine, the in-process API and the Node-RED nodes.

export type QoS = 0 | 1 | 2

/** MQTT protocol level on the wire: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5

/** MQTT 5 PUBLISH properties, named as mqtt-packet and Node-RED's core nodes name them. */
export interface PublishProperties {
  payloadFormatIndicator?: boolean
  messageExpiryInterval?: number
  topicAlias?: number
  responseTopic?: string
  correlationData?: Buffer
  userProperties?: Record<string, string | string[]>
  subscriptionIdentifier?: number | number[]
  contentType?: string
}

/**
 * A message as the router moves it: one object per PUBLISH, shared by every subscriber, every
 * queue that holds it and the retained store.
 */
export interface Message {
  /** Given by the broker when it admits the message (0 before): unique among what the store holds. */
  id: number
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties?: PublishProperties
  /** Where the message came from (No Local, echo rules, events); undefined for the broker itself ($SYS). */
  origin?: Origin
  /** When the message expires (ms since epoch), from its MQTT 5 Message Expiry Interval. */
  expiresAt?: number
  /** MQTT 5 user properties in the order they were received [MQTT-3.3.2-17]. */
  userPropertyPairs?: Array<[string, string]>
  /**
   * Set on a message one session took from a holder outside this node (a persistent session's
   * consumer on the cluster's stream): the holder keeps it until the session settles or returns it.
   */
  heldBy?: MessageHolder
}

/** Something that keeps a message for one session until its client completes it (lib/cluster/session-consumers.ts). */
export interface MessageHolder {
  /** The client completed it (PUBACK, PUBCOMP) or the session dropped it: the holder lets it go. */
  settled (): void
  /** The session gives it back undelivered (its client went away or moved): the holder offers it again. */
  returned (): void
}

/**
 * The ways a message enters the broker: a client's PUBLISH, a client's Last Will, the in-process
 * API, a bridge (a bridge-marked client, or a bridge this broker runs), a cluster peer.
 */
export type OriginKind = 'client' | 'will' | 'local' | 'bridge' | 'cluster'

/**
 * Where a message came from. One object per publisher, shared by all its messages: a
 * connection's origin is made once, so a PUBLISH allocates none.
 */
export interface Origin {
  readonly kind: OriginKind
  /**
   * The publisher's client id (for a will: its client's), or the key an in-process publisher,
   * bridge or peer goes by. No Local compares it with a subscriber's `originKey` [MQTT-3.8.3-3].
   */
  readonly clientId: string
  /** The publishing client as the authorizers know it (a client's PUBLISH or will): check_retain_source asks them again. */
  readonly client?: ClientInfo
  /**
   * Set on a QoS 1/2 message a cluster node took from its own consumers of the stream: a persistent
   * session takes such messages from consumers of its own instead (Session.servedByCluster).
   */
  readonly nodeStream?: true
}

/** The origin of messages published through the in-process API: No Local skips them for in-process subscribers. */
export const LOCAL_ORIGIN: Origin = Object.freeze({ kind: 'local', clientId: '$local' })

/** MQTT 5 subscription options (MQTT 5.0, 3.8.3.1); all false/0 for MQTT 3.1.1 clients. */
export interface SubscriptionOptions {
  /** Do not deliver messages published by this same client. */
  noLocal?: boolean
  /** Keep the retain flag as published when forwarding. */
  retainAsPublished?: boolean
  /** 0: send retained messages on subscribe; 1: only if the subscription is new; 2: never. */
  retainHandling?: 0 | 1 | 2
  /** Subscription Identifier, returned with every message this subscription matches. */
  subscriptionIdentifier?: number
}

/** What an in-process subscriber receives: the same fields a socket client would see. */
export interface DeliveredMessage {
  topic: string
  payload: Buffer
  /** The lesser of the published QoS and the QoS of the subscription. */
  qos: QoS
  /** Set when the message comes from the retained store on subscribe (or, with Retain As Published, as published). */
  retain: boolean
  properties?: PublishProperties
}

/** What the in-process API accepts for `broker.publish()`. */
export interface PublishRequest {
  topic: string
  payload?: Buffer | string | Uint8Array
  qos?: QoS
  retain?: boolean
  properties?: PublishProperties
}

/** The public face of a client in events and hooks: never the connection object itself. */
export interface ClientInfo {
  clientId: string
  username?: string
  remoteAddress?: string
  remotePort?: number
  protocolVersion: ProtocolVersion
  cleanSession: boolean
  keepaliveSec: number
  /** Set for a Mosquitto bridge: its CONNECT carried the try_private marker (bit 7 of the MQTT 3.1/3.1.1 protocol level). */
  bridge?: boolean
  /** Position in `options.listeners` of the listener the client came in on; unset for streams handed to Broker.accept() by code. */
  listenerIndex?: number
}

/** A connected client with what a live view shows beside its identity. */
export interface ClientDetails extends ClientInfo {
  /** Topic filters of its session. */
  subscriptions: number
  /** When its CONNECT was accepted, ms since the epoch. */
  connectedAtMs: number
}
