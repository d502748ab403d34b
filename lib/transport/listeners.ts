// Listeners by protocol: the one place where a listener's options choose the transport that
// serves it. Every transport hands each accepted stream to Broker.accept(), so everything after
// the bytes (framing, MQTT, sessions) is the same whatever the wire. TLS and WebSockets add
// their entries here.
import type { ClientStream } from '../connection/connection'
import type { Arrival } from './arrival'
import { ConfigError } from '../errors'
import type { Logger } from '../logger'
import type { ListenerOptions } from '../options'
import { type BoundListener, listenTcp } from './tcp'
import { listenTls } from './tls'

/** Receives each accepted stream with what its transport knows about it: Broker.accept. */
export type StreamHandler = (stream: ClientStream, arrival: Arrival) => void

/** What a transport needs to know of the broker it serves. */
export interface TransportLimits {
  /** How long a TLS handshake may take before the socket is closed (connect_timeout), in ms. */
  handshakeTimeoutMs: number
  /** Where transports report clients refused before MQTT starts (a failed TLS handshake). */
  logger: Logger
}

type OpenListener = (options: ListenerOptions, onStream: StreamHandler, limits: TransportLimits) => Promise<BoundListener>

const TRANSPORTS = {
  /** MQTT over plain TCP (Mosquitto's `protocol mqtt`, the default), or over TLS when the listener has `tls`. */
  mqtt: (options, onStream, limits) => options.tls === undefined ? listenTcp(options, onStream) : listenTls(options, onStream, limits)
} satisfies Record<string, OpenListener>

/** A listener's `protocol`, as Mosquitto names it. */
export type ListenerProtocol = keyof typeof TRANSPORTS

/** Every protocol a listener may name; the options schema takes its list from here. */
export const LISTENER_PROTOCOLS = Object.keys(TRANSPORTS) as ListenerProtocol[]

/** Binds one listener with the transport its protocol names. Rejects when it cannot be bound. */
export function openListener (options: ListenerOptions, onStream: StreamHandler, limits: TransportLimits): Promise<BoundListener> {
  const protocol = options.protocol ?? 'mqtt'
  // resolveOptions() already refused any other name; this guards options built around it.
  if (!Object.prototype.hasOwnProperty.call(TRANSPORTS, protocol)) {
    return Promise.reject(new ConfigError(`listener protocol "${String(protocol)}" is not one of ${LISTENER_PROTOCOLS.join(', ')}`))
  }
  return TRANSPORTS[protocol](options, onStream, limits)
}
