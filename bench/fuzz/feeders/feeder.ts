// How fuzz bytes reach a live broker. A feeder names the listener it needs and opens
// connections to it; everything else (cases, batches, checks) is the same whatever the wire, so
// a new transport is one small file added to FEEDERS in feeders/index.ts.
import type { ListenerOptions } from '../../../lib'

/** One connection to the broker under fuzz. */
export interface FuzzConnection {
  write (bytes: Buffer): void
  /** Ends our side gracefully, as a client that has said all it had to say. */
  end (): void
  destroy (): void
  /** True once the broker sent anything (a CONNACK, a refusal); a 3.1.1 connection destroyed for a protocol error may lose its CONNACK. */
  readonly answered: boolean
  /** True once the broker (or the network) has closed it. */
  readonly isClosed: boolean
  /** Resolves when it is closed, by either side; never rejects. */
  readonly closed: Promise<void>
  /** The local port, which the broker's log names for a client without an id. */
  readonly localPort: number
}

export interface Feeder {
  /** `tcp`, `websockets`: shown in the report. */
  readonly name: string
  /** The listener this feeder connects to, on 127.0.0.1 and a port the system chooses. */
  readonly listener: ListenerOptions
  /** Opens one connection to the listener bound at `port`; rejects when it cannot. */
  open (port: number): Promise<FuzzConnection>
}
