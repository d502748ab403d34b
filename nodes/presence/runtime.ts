// `roost presence`: a roster of who is online, fed by the embedded broker's connect/disconnect
// events and by devices' birth and Last Will messages on a topic pattern. One msg per change:
// topic = client or device id, payload "online"/"offline", reason, since (ISO 8601), source.
import type { Broker, ClientInfo, DisconnectReason } from '../../lib'
import { CompiledPattern, PRESENCE_PRESETS, type PresencePattern } from '../../lib/presence/patterns'
import { type PresenceEntry, PresenceRoster } from '../../lib/presence/roster'
import { brokerTransport } from '../broker/runtime'
import { readBool, readString } from '../shared/config'
import { EmbeddedTransport } from '../shared/embedded-transport'
import type { DoneFunction, NodeMessage, RedApi, RedNode, SendFunction } from '../shared/red'
import { describeStatus } from '../shared/status'

interface PresenceNodeConfig {
  broker?: string
  events?: boolean | string
  pattern?: string
  topic?: string
  online?: string
  offline?: string
}

/** What the node sends for one roster entry; `since` is an ISO 8601 time. */
function entryFields (entry: PresenceEntry): { id: string, state: string, reason: string, since: string, source: string } {
  return { id: entry.id, state: entry.state, reason: entry.reason, since: new Date(entry.since).toISOString(), source: entry.source }
}

/** The dialog's pattern choice as a pattern, undefined for none; throws on a bad custom topic. */
export function presencePattern (config: PresenceNodeConfig): CompiledPattern | undefined {
  const choice = readString(config.pattern, 'none')
  if (choice === 'none' || choice === '') return undefined
  if (choice === 'custom') {
    // An empty field (a node saved without it) means the usual word, not "nothing matches".
    const list = (text: string | undefined, fallback: string): string[] => {
      const words = readString(text).split(',').map((s) => s.trim()).filter((s) => s !== '')
      return words.length > 0 ? words : [fallback]
    }
    const pattern: PresencePattern = { topic: readString(config.topic), online: list(config.online, 'online'), offline: list(config.offline, 'offline') }
    return new CompiledPattern(pattern)
  }
  const preset = PRESENCE_PRESETS[choice]
  if (preset === undefined) throw new Error(`unknown pattern "${choice}"`)
  return new CompiledPattern(preset)
}

export function registerPresence (RED: RedApi): void {
  function RoostPresenceNode (this: RedNode, config: PresenceNodeConfig & { id: string }): void {
    RED.nodes.createNode(this, config)
    const node = this
    const transport = brokerTransport(RED, node, config.broker, 'roost-presence.errors.missing-config')
    if (transport === undefined) return
    let patternProblem: string | undefined
    const showCount = (): void => {
      if (patternProblem !== undefined) node.status({ fill: 'red', shape: 'ring', text: RED._('roost-presence.errors.invalid-pattern', { error: patternProblem }) })
      else if (transport.status.state === 'connected') node.status({ fill: 'green', shape: 'dot', text: RED._('roost-presence.status.online', { count: roster.onlineCount }) })
      else node.status(describeStatus(RED, transport.kind, transport.status))
    }
    const roster = new PresenceRoster((entry) => {
      const fields = entryFields(entry)
      node.send({ topic: fields.id, payload: fields.state, reason: fields.reason, since: fields.since, source: fields.source })
      showCount()
    })
    const stops: Array<() => void> = []

    if (readBool(config.events, true)) {
      if (transport instanceof EmbeddedTransport) stops.push(followClients(transport.broker, roster))
      else node.warn(RED._('roost-presence.errors.events-remote'))
    }

    let pattern: CompiledPattern | undefined
    try {
      pattern = presencePattern(config)
    } catch (error) {
      patternProblem = error instanceof Error ? error.message : String(error)
      node.error(RED._('roost-presence.errors.invalid-pattern', { error: patternProblem }))
    }
    if (pattern !== undefined) {
      const compiled = pattern
      try {
        // QoS 1: a Last Will is the one message presence must not lose.
        stops.push(transport.subscribe(compiled.filter, 1, (message) => {
          const device = compiled.device(message.topic)
          const online = compiled.state(message.payload)
          if (device !== undefined && device !== '' && online !== undefined) roster.deviceState(device, online)
        }))
      } catch (error) {
        patternProblem = error instanceof Error ? error.message : String(error)
      node.error(RED._('roost-presence.errors.invalid-pattern', { error: patternProblem }))
      }
    }

    stops.push(transport.onStatus(showCount))
    showCount()

    node.on('input', (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
      if (msg.action !== 'list') {
        done(new Error(RED._('roost-presence.errors.invalid-action', { action: String(msg.action) })))
        return
      }
      msg.topic = 'presence'
      msg.payload = roster.list().map(entryFields)
      send(msg)
      done()
    })
    node.on('close', (_removed: boolean, done: () => void) => {
      for (const stop of stops) stop()
      stops.length = 0
      done()
    })
  }
  RED.nodes.registerType('roost presence', RoostPresenceNode)
}

/** Feeds the roster from the broker's events, starting with who is connected now. */
function followClients (broker: Broker, roster: PresenceRoster): () => void {
  for (const client of broker.clients()) roster.clientConnected(client.clientId)
  const connected = (info: ClientInfo): void => { roster.clientConnected(info.clientId) }
  const disconnected = (info: ClientInfo & { reason: DisconnectReason, willPublished: boolean }): void => {
    // A takeover closes the old connection after the new one is in: the client is still online.
    if (info.reason === 'takenOver' && broker.clients().some((client) => client.clientId === info.clientId)) return
    roster.clientDisconnected(info.clientId, info.reason, info.willPublished)
  }
  broker.on('clientConnected', connected)
  broker.on('clientDisconnected', disconnected)
  return () => {
    broker.off('clientConnected', connected)
    broker.off('clientDisconnected', disconnected)
  }
}
