// What a transport knows about a stream before MQTT starts: the listener it came in on (whose
// settings apply to it: mount_point, per-listener max_connections, and with
// per_listener_settings its own users and access rules) and any identity the transport itself
// established (a TLS client certificate, a TLS-PSK identity). The connection keeps it for its
// whole life; CONNECT handling and the authorizers read it.
import type { ListenerOptions } from '../options'

export interface Arrival {
  /**
   * The listener the stream was accepted on: the very object in options.listeners (not a copy),
   * which per-listener rules and counts are keyed by; undefined for streams handed to Broker.accept() by code.
   */
  listener?: Readonly<ListenerOptions>
  /**
   * A username the transport vouches for (`use_identity_as_username`, `use_subject_as_username`,
   * a PSK identity): it replaces whatever the CONNECT says, and no password is asked for.
   */
  transportUsername?: string
  /** True when the bytes travel inside TLS (TLS, TLS-PSK or secure WebSockets). */
  secure?: boolean
}

/** A stream handed over by code: no listener, nothing established by a transport. */
export const CODE_ARRIVAL: Readonly<Arrival> = Object.freeze({})
