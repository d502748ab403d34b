// Typed broker events. Payloads are small plain objects: a listener never gets a connection or
// session object to reach into.
import { EventEmitter } from 'node:events'
import type { ClientInfo, QoS } from './types'

/** Why a client went away; `will` is sent when the reason is anything but `disconnect`. */
export type DisconnectReason =
  | 'disconnect'        // the client sent DISCONNECT
  | 'socketClosed'      // the connection ended without DISCONNECT
  | 'socketError'       // a network error
  | 'keepaliveTimeout'  // no packet within 1.5 x keepalive [MQTT-3.1.2-24]
  | 'protocolError'     // malformed or forbidden input
  | 'takenOver'         // a new connection with the same client id [MQTT-3.1.4-2]
  | 'serverShutdown'    // broker.close()
  | 'slowConsumer'      // the client did not read while its buffers grew past the limit
  | 'administrative'    // broker.disconnectClient()

/** A bridge's link: `connecting` (or waiting to retry), `connected`, `idle` (lazy, not needed now), `stopped`. */
export type BridgeLinkState = 'connecting' | 'connected' | 'idle' | 'stopped'

/** What `bridgeState` events and broker.bridgeStates() report of one bridge. */
export interface BridgeStatus {
  name: string
  state: BridgeLinkState
  /** host:port of the remote connected to, or of the attempt under way. */
  address?: string
  /** The last failure (refused, unreachable, TLS), until the next connection succeeds. */
  lastError?: string
  /** QoS 1/2 messages held for the remote (in flight or waiting for it). */
  queued: number
  /** Messages dropped because the hold was full (max_queued_messages, max_queued_bytes). */
  dropped: number
}

export interface BrokerEvents {
  /** A listener is accepting connections. */
  listening: [{ host: string, port: number }]
  /** CONNACK 0 was sent. */
  clientConnected: [ClientInfo & { sessionPresent: boolean }]
  /** A connected client is gone. */
  clientDisconnected: [ClientInfo & { reason: DisconnectReason, willPublished: boolean }]
  /** A CONNECT was refused (authentication, identifier, limits). */
  clientRefused: [{ clientId: string, username?: string, remoteAddress?: string, reasonCode: number, reason: string }]
  subscribe: [{ clientId: string, subscriptions: Array<{ filter: string, qos: QoS | 0x80 }> }]
  unsubscribe: [{ clientId: string, filters: string[] }]
  /** A message entered the router (only emitted while someone listens: the hot path stays lean). */
  publish: [{ clientId?: string, topic: string, qos: QoS, retain: boolean, payloadBytes: number }]
  /** A Last Will message was published for a client. */
  willPublished: [{ clientId: string, topic: string }]
  /**
   * A failure inside the broker that did not stop it: a hook or in-process handler that threw, an
   * internal error while handling a packet. A client's own socket errors are logged, not emitted.
   */
  error: [{ error: Error, clientId?: string }]
  /** A bridge's link changed state (see BridgeStatus). */
  bridgeState: [BridgeStatus]
  closed: []
}

/** EventEmitter with the BrokerEvents map for names and argument types. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> extends EventEmitter {
  override on<K extends keyof Events & string> (event: K, listener: (...args: Events[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void)
  }

  override once<K extends keyof Events & string> (event: K, listener: (...args: Events[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void)
  }

  override off<K extends keyof Events & string> (event: K, listener: (...args: Events[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void)
  }

  override emit<K extends keyof Events & string> (event: K, ...args: Events[K]): boolean {
    return super.emit(event, ...args)
  }
}
