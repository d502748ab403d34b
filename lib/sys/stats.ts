// Counters kept by the engine as traffic flows, read by `$SYS` and the roost sys node.
// Plain numeric fields: incrementing one is the whole cost on the hot path.

export class BrokerStats {
  readonly startedAt = Date.now()
  /** Control packets of every type. */
  messagesReceived = 0
  messagesSent = 0
  /** PUBLISH packets only. */
  publishReceived = 0
  publishSent = 0
  /** Messages not delivered to a subscriber: queue full, slow consumer, oversized. */
  publishDropped = 0
  /** Queued messages whose MQTT 5 Message Expiry Interval ran out (also counted as dropped). */
  messagesExpired = 0
  bytesReceived = 0
  bytesSent = 0
  publishBytesReceived = 0
  publishBytesSent = 0
  /** Sockets accepted since start. */
  socketsAccepted = 0
  /** CONNACK 0 sent since start. */
  connectionsAccepted = 0
  /** Most clients connected at once. */
  clientsMaximum = 0
  /** Persistent sessions removed by `persistent_client_expiration`. */
  clientsExpired = 0
}
