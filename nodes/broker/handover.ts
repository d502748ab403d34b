// A warm hand-over across a redeploy. Node-RED closes a config node and makes a new one whenever
// its properties change, so without this every edit of a bridge would restart the whole embedded
// broker and drop every client. Instead, a roost-broker closed by a deploy (not removed) parks its
// running broker under its node id; the node made by the same deploy adopts it when nothing but
// the bridges changed, and only the bridges that changed reconnect (Broker.setBridges). Anything
// else (a port, a user, a limit) closes the parked broker and starts a fresh one, as before.
// A broker nobody adopts is closed once the deploy's flows have started (or after PARK_GRACE_MS),
// and nothing is parked when Node-RED stops (its `flows:stopping` carries no changes then).
import { isDeepStrictEqual } from 'node:util'
import { type BrokerOptions, type Logger, resolveOptions } from '../../lib'
import type { EmbeddedTransport } from '../shared/embedded-transport'
import type { RedApi, RedNode } from '../shared/red'

/** How long a parked broker waits for its successor if the deploy never says it has started. */
export const PARK_GRACE_MS = 10_000

/** Node-RED's runtime events, as RED.events gives them to nodes. */
export type RuntimeEvents = NonNullable<RedApi['events']>

/** The engine's log lines go to whichever broker node owns the broker now. */
export class NodeLogRelay implements Logger {
  constructor (public node: RedNode) {}
  debug (): void {}
  info (): void {}
  notice (line: string): void { this.node.log(line) }
  warning (line: string): void { this.node.warn(line) }
  error (line: string): void { this.node.error(line) }
}

interface Parked {
  transport: EmbeddedTransport
  /** The options the broker was made with (the bridges as last applied). */
  options: Partial<BrokerOptions>
  relay: NodeLogRelay
  /** Says on the node that owns the broker now that it did not close cleanly. */
  closeFailed: (error: unknown) => void
  timer: NodeJS.Timeout
}

const parked = new Map<string, Parked>()
/** Set from a deploy's `flows:stopping` until its `flows:started`. */
let deploying = false
let followed: RuntimeEvents | undefined

function onStopping (payload: unknown): void {
  deploying = isDeploy(payload)
}

function onStarted (): void {
  deploying = false
  // The deploy's nodes are all made by now: whatever is still parked has no successor.
  for (const id of [...parked.keys()]) closeParked(id)
}

/**
 * A deploy stops nodes with the changes it makes; Node-RED stopping (or a test runtime unloading)
 * stops them with an empty list of changes.
 */
function isDeploy (payload: unknown): boolean {
  const { type, diff } = (payload ?? {}) as { type?: unknown, diff?: Record<string, unknown> }
  if (type !== 'full') return true
  return Object.values(diff ?? {}).some((changes) => Array.isArray(changes) && changes.length > 0)
}

/** Listens to the runtime's deploys (once per runtime); without events nothing is ever parked. */
export function followDeploys (events: RuntimeEvents | undefined): void {
  if (events === undefined || events === followed) return
  followed?.off('flows:stopping', onStopping)
  followed?.off('flows:started', onStarted)
  followed = events
  deploying = false
  events.on('flows:stopping', onStopping)
  events.on('flows:started', onStarted)
}

/**
 * From the close handler of a broker node that was not removed: parks the running broker when a
 * deploy is under way. False when it was not parked (the caller closes it as usual).
 */
export function park (id: string, transport: EmbeddedTransport, options: Partial<BrokerOptions>, relay: NodeLogRelay, closeFailed: (error: unknown) => void): boolean {
  if (!deploying || transport.status.state !== 'connected') return false
  closeParked(id)
  const timer = setTimeout(() => { closeParked(id) }, PARK_GRACE_MS)
  timer.unref()
  parked.set(id, { transport, options, relay, closeFailed, timer })
  return true
}

/** What a new broker node finds of its predecessor. */
export interface Adoption {
  /** The running broker, now this node's, with the new bridges being applied. */
  transport?: EmbeddedTransport
  /** The predecessor's broker closing (it could not be kept): the new one listens once it is done. */
  closing?: Promise<void>
}

/**
 * From the constructor of a broker node: takes over the parked broker of the same id when only
 * its bridges differ from `options` (and `options` are valid), applying the new bridges; otherwise
 * closes it and says when it is closed.
 */
export function adopt (id: string, options: Partial<BrokerOptions>, node: RedNode, onBridgeError: (error: Error) => void): Adoption {
  const found = parked.get(id)
  if (found === undefined) return {}
  parked.delete(id)
  clearTimeout(found.timer)
  if (!onlyBridgesDiffer(found.options, options)) return { closing: closeTransport(found) }
  found.relay.node = node
  const bridges = resolveOptions({ bridges: options.bridges ?? [] }).bridges
  found.transport.broker.setBridges(bridges).catch(onBridgeError)
  return { transport: found.transport }
}

/** Whether a broker made with `running` can become one made with `wanted` by Broker.setBridges alone. */
function onlyBridgesDiffer (running: Partial<BrokerOptions>, wanted: Partial<BrokerOptions>): boolean {
  try {
    // Options the engine would refuse are left to a fresh start, which reports them as it always has.
    resolveOptions(wanted)
  } catch {
    return false
  }
  return isDeepStrictEqual({ ...running, bridges: undefined }, { ...wanted, bridges: undefined })
}

function closeParked (id: string): void {
  const found = parked.get(id)
  if (found === undefined) return
  parked.delete(id)
  clearTimeout(found.timer)
  void closeTransport(found)
}

/**
 * Closes a parked broker. Resolves one event-loop turn after the close: a closed server's handle
 * is released in the loop's close phase, so a successor binding at once would still see it.
 */
function closeTransport (found: Parked): Promise<void> {
  return found.transport.close().catch(found.closeFailed).then(() => new Promise<void>((resolve) => { setTimeout(resolve, 0) }))
}

/** Brokers parked now (for tests of the lifecycle). */
export function parkedBrokerCount (): number { return parked.size }
