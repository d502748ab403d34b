// The bridge words of mosquitto.conf: `connection <name>` opens a bridge, the words after it (up
// to the next `connection`) configure it. Each line is checked on its own against the bridges
// schema, so a bad value names its own file:line; what only shows once a bridge is complete (no
// address) names the bridge's `connection` line.
import Ajv, { type ValidateFunction } from 'ajv'
import { ConfigError } from '../errors'
import { BRIDGE_SCHEMA, type BridgeOptions, type BridgeTlsOptions, type BridgeTopic } from '../bridge/options'
import { bridgeProblem, parseAddress } from '../bridge/settings'
import { topicLineProblem } from '../bridge/topics'
import { describeOptionErrors } from '../options'
import type { ConfLine } from './lines'
import { parseBoolean, parseInteger, restOfLine, singleValue } from './values'

/** Bridges read so far, with the line each one's `connection` is on. */
export interface BridgeSections {
  bridges: BridgeOptions[]
  sources: string[]
}

type BridgeWord = (bridge: BridgeOptions, line: ConfLine) => void

/** Compiled when a file first names a bridge: importing the engine must not pay for it. */
let validateBridge: ValidateFunction<BridgeOptions> | undefined

/** Runs one field through the bridge schema so its message reads as for every entry point. */
function checkField (line: ConfLine, field: Partial<BridgeOptions>): void {
  const validate = validateBridge ??= new Ajv({ allErrors: true }).compile<BridgeOptions>(BRIDGE_SCHEMA)
  if (validate({ name: 'check', addresses: ['localhost'], topics: [], ...field })) return
  throw new ConfigError(`'${line.word} ${line.rest}': ${describeOptionErrors(validate.errors)}`, line.source)
}

function field<K extends keyof BridgeOptions> (key: K, read: (line: ConfLine) => BridgeOptions[K]): BridgeWord {
  return (bridge, line) => {
    const value = read(line)
    checkField(line, { [key]: value })
    bridge[key] = value
  }
}

function tlsField<K extends keyof BridgeTlsOptions> (key: K, read: (line: ConfLine) => BridgeTlsOptions[K]): BridgeWord {
  return (bridge, line) => {
    const value = read(line)
    checkField(line, { tls: { [key]: value } })
    bridge.tls = { ...bridge.tls, [key]: value }
  }
}

/** `""` is Mosquitto's place marker for an empty pattern or prefix. */
function unquote (word: string): string {
  return word === '""' ? '' : word
}

function readTopic (line: ConfLine): BridgeTopic {
  const [pattern, direction, qos, localPrefix, remotePrefix, extra] = line.values
  if (pattern === undefined) throw new ConfigError("'topic' needs a pattern: topic <pattern> [in|out|both [qos [local-prefix [remote-prefix]]]]", line.source)
  if (extra !== undefined) throw new ConfigError(`'topic' takes at most five values, not '${line.rest}'`, line.source)
  const topic: BridgeTopic = { pattern: unquote(pattern) }
  if (direction !== undefined) {
    if (direction !== 'in' && direction !== 'out' && direction !== 'both') throw new ConfigError(`'topic' direction must be in, out or both, not '${direction}'`, line.source)
    topic.direction = direction
  }
  if (qos !== undefined) {
    const level = parseInteger(line, qos)
    if (level !== 0 && level !== 1 && level !== 2) throw new ConfigError(`'topic' QoS must be 0, 1 or 2, not '${qos}'`, line.source)
    topic.qos = level
  }
  if (localPrefix !== undefined) topic.localPrefix = unquote(localPrefix)
  if (remotePrefix !== undefined) topic.remotePrefix = unquote(remotePrefix)
  const problem = topicLineProblem(topic)
  if (problem !== undefined) throw new ConfigError(`'topic ${line.rest}': ${problem}`, line.source)
  return topic
}

function readAddresses (line: ConfLine): string[] {
  if (line.values.length === 0) throw new ConfigError(`'${line.word}' needs host[:port] at least once`, line.source)
  for (const address of line.values) {
    if (parseAddress(address) === undefined) throw new ConfigError(`'${line.word}': '${address}' is not host[:port] with a port from 1 to 65535`, line.source)
  }
  return line.values
}

function readRestartTimeout (bridge: BridgeOptions, line: ConfLine): void {
  const [base, cap, extra] = line.values
  if (base === undefined || extra !== undefined) throw new ConfigError("'restart_timeout' takes a base and an optional cap, in seconds", line.source)
  const timing: Partial<BridgeOptions> = { restartTimeoutSec: parseInteger(line, base) }
  if (cap !== undefined) timing.restartTimeoutCapSec = parseInteger(line, cap)
  checkField(line, timing)
  if (timing.restartTimeoutCapSec !== undefined && timing.restartTimeoutCapSec < (timing.restartTimeoutSec as number)) {
    throw new ConfigError(`'restart_timeout ${line.rest}': the cap is below the base`, line.source)
  }
  delete bridge.restartTimeoutCapSec
  Object.assign(bridge, timing)
}

const integer = (line: ConfLine): number => parseInteger(line)

const BRIDGE_WORDS: Record<string, BridgeWord> = {
  address (bridge, line) { bridge.addresses = readAddresses(line) },
  addresses (bridge, line) { bridge.addresses = readAddresses(line) },
  topic (bridge, line) { bridge.topics.push(readTopic(line)) },
  round_robin: field('roundRobin', parseBoolean),
  start_type: field('startType', (line) => singleValue(line) as BridgeOptions['startType']),
  restart_timeout: readRestartTimeout,
  idle_timeout: field('idleTimeoutSec', integer),
  threshold: field('threshold', integer),
  keepalive_interval: field('keepaliveSec', integer),
  cleansession: field('cleanSession', parseBoolean),
  local_clientid: field('localClientId', singleValue),
  remote_clientid: field('remoteClientId', singleValue),
  // Mosquitto's older names for the remote credentials and client id.
  clientid: field('remoteClientId', singleValue),
  remote_username: field('remoteUsername', singleValue),
  username: field('remoteUsername', singleValue),
  remote_password: field('remotePassword', restOfLine),
  password: field('remotePassword', restOfLine),
  local_username: field('localUsername', singleValue),
  local_password: field('localPassword', restOfLine),
  bridge_protocol_version: field('protocolVersion', (line) => singleValue(line) as BridgeOptions['protocolVersion']),
  bridge_max_packet_size: field('maxPacketSize', integer),
  bridge_outgoing_retain: field('outgoingRetain', parseBoolean),
  bridge_receive_maximum: field('receiveMaximum', integer),
  bridge_session_expiry_interval: field('sessionExpiryIntervalSec', integer),
  try_private: field('tryPrivate', parseBoolean),
  notifications: field('notifications', parseBoolean),
  notifications_local_only: field('notificationsLocalOnly', parseBoolean),
  notification_topic: field('notificationTopic', singleValue),
  bridge_attempt_unsubscribe: field('attemptUnsubscribe', parseBoolean),
  bridge_cafile: tlsField('cafile', restOfLine),
  bridge_capath: tlsField('capath', restOfLine),
  bridge_certfile: tlsField('certfile', restOfLine),
  bridge_keyfile: tlsField('keyfile', restOfLine),
  bridge_insecure: tlsField('insecure', parseBoolean),
  bridge_tls_version: tlsField('version', (line) => singleValue(line) as BridgeTlsOptions['version']),
  bridge_alpn: tlsField('alpn', singleValue),
  bridge_identity: tlsField('identity', singleValue),
  bridge_psk: tlsField('psk', singleValue)
}

/** Is this a word this file reads (`connection` or a word inside a bridge section)? */
export function isBridgeWord (word: string): boolean {
  return word === 'connection' || Object.prototype.hasOwnProperty.call(BRIDGE_WORDS, word)
}

/** Reads one bridge line into `sections`. Throws ConfigError naming the line. */
export function readBridgeWord (sections: BridgeSections, line: ConfLine): void {
  if (line.word === 'connection') {
    const name = singleValue(line)
    if (sections.bridges.some((bridge) => bridge.name === name)) throw new ConfigError(`bridge '${name}' is defined twice`, line.source)
    const bridge: BridgeOptions = { name, addresses: [], topics: [] }
    checkField(line, { name })
    sections.bridges.push(bridge)
    sections.sources.push(line.source)
    return
  }
  const bridge = sections.bridges[sections.bridges.length - 1]
  if (bridge === undefined) throw new ConfigError(`'${line.word}' belongs to a bridge: it must follow a 'connection' line`, line.source)
  const read = BRIDGE_WORDS[line.word] as BridgeWord
  read(bridge, line)
}

/** The bridges read, each complete; a problem names the bridge's `connection` line. */
export function finishBridges (sections: BridgeSections): BridgeOptions[] {
  sections.bridges.forEach((bridge, index) => {
    const source = sections.sources[index] as string
    if (bridge.addresses.length === 0) throw new ConfigError(`bridge '${bridge.name}' has no 'address' line`, source)
    const problem = bridgeProblem(bridge)
    if (problem !== undefined) throw new ConfigError(`bridge '${bridge.name}': ${problem}`, source)
  })
  return sections.bridges
}
