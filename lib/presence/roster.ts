// Who is online: a roster fed by broker connect/disconnect events and by devices' birth and Last
// Will messages. It reports each change once; repeating what is already known changes nothing.
import type { DisconnectReason } from '../events'

export type PresenceState = 'online' | 'offline'

/** Why an entry changed, in the words the roost presence node puts in msg.reason. */
export type PresenceReason =
  | 'connected' | 'disconnected' | 'will' | 'keepalive timeout' | 'taken over' | 'connection lost'
  | 'birth' | 'last will' | 'broker closed' | 'administrative'

export interface PresenceEntry {
  id: string
  state: PresenceState
  reason: PresenceReason
  /** When the state last changed, ms since the epoch. */
  since: number
  /** 'client': an MQTT client of the broker; 'topic': a device seen through a pattern. */
  source: 'client' | 'topic'
}

export class PresenceRoster {
  private readonly entries = new Map<string, PresenceEntry>()

  constructor (private readonly onChange: (entry: PresenceEntry) => void, private readonly now: () => number = Date.now) {}

  get onlineCount (): number {
    let count = 0
    for (const entry of this.entries.values()) if (entry.state === 'online') count++
    return count
  }

  list (): PresenceEntry[] {
    return [...this.entries.values()].map((entry) => ({ ...entry })).sort((a, b) => a.id.localeCompare(b.id))
  }

  clientConnected (clientId: string): void {
    this.set(clientId, 'online', 'connected', 'client')
  }

  clientDisconnected (clientId: string, reason: DisconnectReason, willPublished: boolean): void {
    this.set(clientId, 'offline', disconnectReason(reason, willPublished), 'client')
  }

  /** A device's birth (true) or Last Will (false) message. */
  deviceState (device: string, online: boolean): void {
    this.set(device, online ? 'online' : 'offline', online ? 'birth' : 'last will', 'topic')
  }

  /** Everyone still online goes offline: the broker they were connected to is gone. */
  brokerClosed (): void {
    for (const entry of [...this.entries.values()]) {
      if (entry.source === 'client' && entry.state === 'online') this.set(entry.id, 'offline', 'broker closed', 'client')
    }
  }

  private set (id: string, state: PresenceState, reason: PresenceReason, source: PresenceEntry['source']): void {
    const known = this.entries.get(id)
    if (known !== undefined && known.state === state) return
    const entry: PresenceEntry = { id, state, reason, since: this.now(), source }
    this.entries.set(id, entry)
    this.onChange({ ...entry })
  }
}

function disconnectReason (reason: DisconnectReason, willPublished: boolean): PresenceReason {
  if (willPublished) return 'will'
  switch (reason) {
    case 'disconnect': return 'disconnected'
    case 'keepaliveTimeout': return 'keepalive timeout'
    case 'takenOver': return 'taken over'
    case 'serverShutdown': return 'broker closed'
    case 'administrative': return 'administrative'
    default: return 'connection lost'
  }
}
