// Shapes the client engine shares with its callers: events, messages, subscriptions.
import type { DeliveredMessage, ProtocolVersion, PublishProperties, QoS } from '../types'

export type ClientState =
  | 'new'          // created, connect() not called yet
  | 'connecting'   // socket opening, or CONNECT sent and CONNACK awaited
  | 'connected'    // CONNACK 0 received
  | 'reconnecting' // waiting for the next attempt
  | 'closed'       // end() was called, or the connection was lost with reconnect off

/** CONNACK properties (MQTT 5.0, 3.2.2.3), as the server sent them. */
export interface ConnackProperties {
  sessionExpiryInterval?: number
  receiveMaximum?: number
  maximumQoS?: number
  retainAvailable?: boolean
  maximumPacketSize?: number
  assignedClientIdentifier?: string
  topicAliasMaximum?: number
  reasonString?: string
  userProperties?: Record<string, string | string[]>
  wildcardSubscriptionAvailable?: boolean
  subscriptionIdentifiersAvailable?: boolean
  sharedSubscriptionAvailable?: boolean
  serverKeepAlive?: number
  responseInformation?: string
  serverReference?: string
}

export interface ClientEvents {
  /** CONNACK accepted the connection. */
  connect: [{ sessionPresent: boolean, properties?: ConnackProperties }]
  /** A PUBLISH from the server (after acknowledging QoS 1, once only for QoS 2); messageId (0 for QoS 0) with options.messageIds. */
  message: [DeliveredMessage & { dup: boolean, messageId?: number }]
  /** The connection that was up is gone. */
  offline: []
  /** A network connection closed (every time, connected or not). */
  close: []
  /** The next attempt is scheduled. */
  reconnecting: [{ attempt: number, delayMs: number }]
  /** The server sent DISCONNECT (MQTT 5) before closing. */
  disconnect: [{ reasonCode: number, properties?: Record<string, unknown> }]
  /** Only emitted while someone listens; otherwise the logger gets the line. */
  error: [Error]
  /** end() has finished: no socket, no timer left. */
  end: []
}

/** One entry of subscribe(). `nl`, `rap`, `rh` are MQTT 5 subscription options. */
export interface ClientSubscription {
  filter: string
  qos: QoS
  /** No Local: do not send this client its own messages. */
  nl?: boolean
  /** Retain As Published: keep the retain flag as the publisher set it. */
  rap?: boolean
  /** Retain Handling: 0 send retained, 1 only for a new subscription, 2 never. */
  rh?: 0 | 1 | 2
  /** Long names for the same options, as Node-RED's dialogs spell them; the short ones win. */
  noLocal?: boolean
  retainAsPublished?: boolean
  retainHandling?: 0 | 1 | 2
}

export interface SubscribeProperties {
  subscriptionIdentifier?: number
  userProperties?: Record<string, string | string[]>
}

/** MQTT 5 DISCONNECT contents for end() (MQTT 5.0, 3.14). */
export interface DisconnectOptions {
  reasonCode?: number
  properties?: {
    sessionExpiryInterval?: number
    reasonString?: string
    userProperties?: Record<string, string | string[]>
  }
}

export interface ClientPublish {
  topic: string
  payload?: Buffer | string | Uint8Array
  qos?: QoS
  retain?: boolean
  properties?: PublishProperties
}

/** What the parts of the client (outgoing, incoming, requests) need from the connection. */
export interface ClientLink {
  readonly protocolVersion: ProtocolVersion
  /** Writes bytes on the current connection; false when there is none. */
  write (packet: Buffer, callback?: (error?: Error | null) => void): boolean
  /** The server broke the protocol: DISCONNECT with the reason (MQTT 5), then drop the link. */
  protocolFault (reasonCode: number, why: string): void
}
