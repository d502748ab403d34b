// msg.action `connect` and `disconnect` for `roost in` and `roost out`, as core `mqtt in`/`mqtt out`
// answer them: the connection belongs to the roost-broker config node, so the action acts for
// every node that uses it.
import { ConnectionActionError } from './errors'
import type { DoneFunction, NodeMessage, RedApi } from './red'
import type { RoostTransport } from './transport'

export type ConnectionAction = 'connect' | 'disconnect'

export function isConnectionAction (action: unknown): action is ConnectionAction {
  return action === 'connect' || action === 'disconnect'
}

/** Runs the action and ends the msg with done(), or done(err) with a translated reason. */
export function runConnectionAction (RED: RedApi, transport: RoostTransport, action: ConnectionAction, msg: NodeMessage, done: DoneFunction): void {
  // Only an object overrides settings (a string or null in msg.broker is ignored, as in core).
  const broker = typeof msg.broker === 'object' && msg.broker !== null && !Array.isArray(msg.broker) ? msg.broker as Record<string, unknown> : undefined
  let running: Promise<void>
  try {
    running = action === 'connect' ? transport.connect(broker) : transport.disconnect()
  } catch (error) {
    running = Promise.reject(error)
  }
  running.then(() => { done() }, (error: unknown) => { done(connectionError(RED, error)) })
}

function connectionError (RED: RedApi, error: unknown): Error {
  if (error instanceof ConnectionActionError) return new Error(RED._(`roost-broker.connection.${error.key}`, error.details))
  return new Error(RED._('roost-broker.connection.failed', { error: error instanceof Error ? error.message : String(error) }))
}
