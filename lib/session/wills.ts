// Last Wills (MQTT 3.1.1, 3.1.2.5; MQTT 5.0, 3.1.3.2): published when a connection ends without
// DISCONNECT, or after the Will Delay Interval while the session lives on (MQTT 5.0, 3.1.3.2.2).
// A client that comes back in time cancels its delayed will [MQTT-3.1.3-9]; a session that ends
// sends it at once.
import type { StoredWill } from '../store/records'
import { admit, refusalLine } from '../routing/admit'
import type { ClientInfo, Message } from '../types'
import type { SessionHost } from './host'
import type { Session } from './session'

/** setTimeout's longest delay; longer waits are cut to it or re-armed in steps. */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * Publishes a will now, or after its Will Delay Interval while the session lives on; returns
 * whether it went out now. `onDelayedPublished` runs when a delayed one goes out.
 */
export function publishOrDelayWill (host: SessionHost, session: Session, will: StoredWill, onDelayedPublished: (session: Session) => void): boolean {
  if (will.delaySec <= 0 || session.expiryIntervalSec === 0) return publishWill(host, will.client, will.message)
  const delayMs = Math.min(will.delaySec, session.expiryIntervalSec) * 1000
  delayWill(host, session, { message: will.message, client: will.client, delaySec: will.delaySec, publishAtMs: Date.now() + delayMs }, onDelayedPublished)
  return false
}

/** Holds a will until its `publishAtMs` (wall clock), then publishes it. */
export function delayWill (host: SessionHost, session: Session, will: StoredWill, onPublished: (session: Session) => void): void {
  const delayMs = Math.max(0, (will.publishAtMs ?? 0) - Date.now())
  const timer = setTimeout(() => {
    session.pendingWill = undefined
    publishWill(host, will.client, will.message)
    onPublished(session)
  }, Math.min(delayMs, MAX_TIMER_MS))
  timer.unref()
  session.pendingWill = { message: will.message, client: will.client, delaySec: will.delaySec, publishAtMs: will.publishAtMs, timer }
}

/** A returning client cancels its delayed will [MQTT-3.1.3-9]; a session that ends sends it. */
export function settlePendingWill (host: SessionHost, session: Session, sessionEnds: boolean): void {
  const pending = session.pendingWill
  if (pending === undefined) return
  clearTimeout(pending.timer)
  session.pendingWill = undefined
  if (sessionEnds) publishWill(host, pending.client, pending.message)
}

export function publishWill (host: SessionHost, client: ClientInfo, will: Message): boolean {
  // A will passes the same admission step as a PUBLISH ($SYS, ACL, ...); a hook that throws denies.
  const refused = admit(host, will, client)
  if (refused !== undefined) {
    host.logger.notice(refusalLine(`will of ${client.clientId}`, will.topic, refused))
    return false
  }
  host.dispatchMessage(will)
  host.events.emit('willPublished', { clientId: client.clientId, topic: will.topic })
  return true
}
