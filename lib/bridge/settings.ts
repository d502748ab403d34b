// From BridgeOptions (already through the schema) to what a running bridge reads: the rules the
// schema cannot say (a pattern of "" needs both prefixes, PSK needs identity and key, names are
// unique), addresses split into host and port, Mosquitto's derived names and defaults filled in.
import { hostname } from 'node:os'
import { ConfigError } from '../errors'
import type { ProtocolVersion } from '../types'
import { BRIDGE_DEFAULTS, type BridgeOptions, type BridgeStartType, type BridgeTlsOptions } from './options'
import { type TopicMapping, topicLineProblem, topicMapping } from './topics'

export interface BridgeAddress { host: string, port: number }

/** A bridge as it runs: every default filled in. */
export interface BridgeSettings {
  readonly name: string
  readonly addresses: readonly BridgeAddress[]
  readonly roundRobin: boolean
  readonly startType: BridgeStartType
  readonly restartTimeoutMs: number
  /** Undefined: a constant restart delay. */
  readonly restartTimeoutCapMs: number | undefined
  readonly idleTimeoutMs: number
  readonly threshold: number
  readonly keepaliveSec: number
  readonly cleanSession: boolean
  readonly localClientId: string
  readonly remoteClientId: string
  readonly remoteUsername: string | undefined
  readonly remotePassword: string | undefined
  readonly localUsername: string | undefined
  readonly protocolVersion: ProtocolVersion
  readonly maxPacketSize: number
  readonly outgoingRetain: boolean
  readonly receiveMaximum: number | undefined
  readonly sessionExpiryIntervalSec: number | undefined
  readonly tryPrivate: boolean
  readonly notifications: boolean
  readonly notificationsLocalOnly: boolean
  readonly notificationTopic: string
  readonly attemptUnsubscribe: boolean
  readonly mappings: readonly TopicMapping[]
  readonly tls: BridgeTlsOptions | undefined
}

const PROTOCOL_LEVELS = { mqttv31: 3, mqttv311: 4, mqttv50: 5 } as const

/** Splits `host[:port]`, `[v6]:port` or a bare IPv6 address; undefined when it is neither. */
export function parseAddress (text: string): BridgeAddress | undefined {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text)
  const plain = /^([^\s:[\]]+)(?::(\d{1,5}))?$/.exec(text)
  const match = bracketed ?? plain
  if (match === null) {
    // An IPv6 address without brackets: mosquitto.conf(5) says the port is then not optional,
    // so the part after the last colon is the port.
    const last = text.lastIndexOf(':')
    if (!/^[0-9a-fA-F:]+$/.test(text) || last <= 0) return undefined
    const port = Number(text.slice(last + 1))
    return port >= 1 && port <= 65535 ? { host: text.slice(0, last), port } : undefined
  }
  const port = match[2] === undefined ? 1883 : Number(match[2])
  if (!(port >= 1 && port <= 65535)) return undefined
  return { host: match[1] as string, port }
}

/** Every rule of one bridge the schema cannot express; the first broken one, or undefined. */
export function bridgeProblem (bridge: BridgeOptions): string | undefined {
  for (const address of bridge.addresses) {
    if (parseAddress(address) === undefined) return `address '${address}' is not host[:port] with a port from 1 to 65535`
  }
  for (const topic of bridge.topics) {
    const problem = topicLineProblem(topic)
    if (problem !== undefined) return `topic '${topic.pattern}': ${problem}`
  }
  const tls = bridge.tls
  if (tls !== undefined) {
    const psk = tls.psk !== undefined || tls.identity !== undefined
    if (psk && (tls.psk === undefined || tls.identity === undefined)) return 'bridge_identity and bridge_psk go together'
    const hasCa = tls.cafile !== undefined || tls.capath !== undefined || tls.ca !== undefined
    const hasCert = tls.certfile !== undefined || tls.cert !== undefined
    const hasKey = tls.keyfile !== undefined || tls.key !== undefined
    if (psk && (hasCa || hasCert)) return 'a bridge uses either certificates or PSK, not both'
    if (hasCert !== hasKey) return 'bridge_certfile and bridge_keyfile go together'
    if (!psk && !hasCa && (hasCert || tls.insecure !== undefined || tls.version !== undefined || tls.alpn !== undefined)) {
      return 'TLS settings need bridge_cafile or bridge_capath'
    }
  }
  if (bridge.remotePassword !== undefined && bridge.remoteUsername === undefined && bridge.protocolVersion !== 'mqttv50') {
    return 'remote_password needs remote_username'
  }
  const cap = bridge.restartTimeoutCapSec
  if (cap !== undefined && cap < (bridge.restartTimeoutSec ?? BRIDGE_DEFAULTS.restartTimeoutSec)) return 'the restart_timeout cap is below its base'
  return undefined
}

/** Checks a list of bridges: each one's rules and unique names. Throws ConfigError. */
export function checkBridges (bridges: readonly BridgeOptions[]): void {
  const names = new Set<string>()
  for (const bridge of bridges) {
    if (names.has(bridge.name)) throw new ConfigError(`bridge '${bridge.name}' is defined twice`)
    names.add(bridge.name)
    const problem = bridgeProblem(bridge)
    if (problem !== undefined) throw new ConfigError(`bridge '${bridge.name}': ${problem}`)
  }
}

/** The settings a bridge runs with; checkBridges() must have passed. */
export function bridgeSettings (bridge: BridgeOptions): BridgeSettings {
  const d = BRIDGE_DEFAULTS
  const remoteClientId = bridge.remoteClientId ?? `${bridge.name}.${hostname()}`
  const restartTimeoutSec = bridge.restartTimeoutSec ?? d.restartTimeoutSec
  // Mosquitto's default is jitter from 5 to 30 s; a base given alone means a constant delay.
  const capSec = bridge.restartTimeoutCapSec ?? (bridge.restartTimeoutSec === undefined ? d.restartTimeoutCapSec : undefined)
  return {
    name: bridge.name,
    addresses: bridge.addresses.map((text) => parseAddress(text) as BridgeAddress),
    roundRobin: bridge.roundRobin ?? d.roundRobin,
    startType: bridge.startType ?? d.startType,
    restartTimeoutMs: restartTimeoutSec * 1000,
    restartTimeoutCapMs: capSec === undefined ? undefined : capSec * 1000,
    idleTimeoutMs: (bridge.idleTimeoutSec ?? d.idleTimeoutSec) * 1000,
    threshold: bridge.threshold ?? d.threshold,
    keepaliveSec: bridge.keepaliveSec ?? d.keepaliveSec,
    cleanSession: bridge.cleanSession ?? d.cleanSession,
    localClientId: bridge.localClientId ?? `local.${remoteClientId}`,
    remoteClientId,
    remoteUsername: bridge.remoteUsername,
    remotePassword: bridge.remotePassword,
    localUsername: bridge.localUsername,
    protocolVersion: PROTOCOL_LEVELS[bridge.protocolVersion ?? d.protocolVersion],
    maxPacketSize: bridge.maxPacketSize ?? d.maxPacketSize,
    outgoingRetain: bridge.outgoingRetain ?? d.outgoingRetain,
    receiveMaximum: bridge.receiveMaximum,
    sessionExpiryIntervalSec: bridge.sessionExpiryIntervalSec,
    tryPrivate: bridge.tryPrivate ?? d.tryPrivate,
    notifications: bridge.notifications ?? d.notifications,
    notificationsLocalOnly: bridge.notificationsLocalOnly ?? d.notificationsLocalOnly,
    notificationTopic: bridge.notificationTopic ?? `$SYS/broker/connection/${remoteClientId}/state`,
    attemptUnsubscribe: bridge.attemptUnsubscribe ?? d.attemptUnsubscribe,
    mappings: bridge.topics.map(topicMapping),
    tls: bridge.tls
  }
}
