// What a bridge holds for the remote: QoS 1 and 2 messages handed to its client and not yet
// acknowledged, in flight or waiting for the link (the client keeps them in order and sends
// them when the remote is back). Bounded by max_queued_messages and max_queued_bytes as a
// client's queue is: past either, new messages are dropped and counted, never the held ones.

export class OutboundHold {
  messages = 0
  bytes = 0
  /** Messages refused because the hold was full, since the bridge started. */
  dropped = 0
  /** Set while dropping, so the log gets one line per overflow rather than one per message. */
  overflowing = false

  constructor (private readonly maxMessages: number, private readonly maxBytes: number) {}

  /** Takes a message of `bytes` payload bytes; false when it does not fit (and it is counted as dropped). */
  take (bytes: number): boolean {
    if ((this.maxMessages > 0 && this.messages >= this.maxMessages) || (this.maxBytes > 0 && this.bytes + bytes > this.maxBytes)) {
      this.dropped++
      return false
    }
    this.messages++
    this.bytes += bytes
    return true
  }

  /** A message left the hold: acknowledged by the remote, refused by it, or failed. */
  release (bytes: number): void {
    this.messages--
    this.bytes -= bytes
  }
}
