// Listeners by protocol: the one place where a listener's options choose the transport that
// serves it. Every transport hands each accepted stream to Broker.accept(), so everything after
// the bytes (framing, MQTT, sessions) is the same whatever the wire. TLS and WebSockets add
// their entries here.
import type { ClientStream } from '../connection/connection'
import type { Arrival } from './arrival'
import { ConfigError } from '../errors'
import type { ListenerOptions } from '../options'
import { type BoundListener, listenTcp } from './tcp'

/** Receives each accepted stream with what its transport knows about it: Broker.accept. */
export type StreamHandler = (stream: ClientStream, arrival: Arrival) => void

type OpenListener = (options: ListenerOptions, onStream: StreamHandler) => Promise<BoundListener>

const TRANSPORTS = {
  /** MQTT over plain TCP (Mosquitto's `protocol mqtt`, the default). */
  mqtt: listenTcp
} satisfies Record<string, OpenListener>

/** A listener's `protocol`, as Mosquitto names it. */
export type ListenerProtocol = keyof typeof TRANSPORTS

/** Every protocol a listener may name; the options schema takes its list from here. */
export const LISTENER_PROTOCOLS = Object.keys(TRANSPORTS) as ListenerProtocol[]

/** Binds one listener with the transport its protocol names. Rejects when it cannot be bound. */
export function openListener (options: ListenerOptions, onStream: StreamHandler): Promise<BoundListener> {
  const protocol = options.protocol ?? 'mqtt'
  // resolveOptions() already refused any other name; this guards options built around it.
  if (!Object.prototype.hasOwnProperty.call(TRANSPORTS, protocol)) {
    return Promise.reject(new ConfigError(`listener protocol "${String(protocol)}" is not one of ${LISTENER_PROTOCOLS.join(', ')}`))
  }
  return TRANSPORTS[protocol](options, onStream)
}
