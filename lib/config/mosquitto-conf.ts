// Reads a file in mosquitto.conf syntax into Roost's broker options, plus the parts that belong to
// the process rather than the broker (password file, logging, pid file). Every value passes through
// the same JSON schema as every other entry point; every error names `file:line`.
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../errors'
import type { LogLevel } from '../logger'
import { type BrokerOptions, type ListenerOptions, resolveOptions } from '../options'
import { type ConfLine, describeFsError, readConfFile } from './lines'
import { addLogDestination, addLogType, type LogDestination, type LogFileDestination, readTimestampFormat } from './logging'
import { type PasswordTable, readPasswordFile } from './password-file'
import { NOT_YET_SUPPORTED_WORDS } from './unsupported-words'
import { parseBoolean, parseDurationSec, parseInteger, restOfLine, singleValue } from './values'

export interface MosquittoConf {
  /** Broker options the file sets, each already checked against the options schema. */
  options: Partial<BrokerOptions>
  /** Whether the file defines any listener (`listener`, `port` or `bind_address`). */
  definesListener: boolean
  /** `password_file`, read and parsed. */
  passwordFile?: { path: string, users: PasswordTable }
  /** `log_type` lines, when there are any (they replace the default set). */
  logTypes?: Set<LogLevel>
  /** `log_dest` lines, when there are any (they replace the default stderr). */
  logDestinations?: Set<LogDestination>
  /** `log_dest file` lines; set whenever logDestinations is. */
  logFiles?: LogFileDestination[]
  /** `log_timestamp`. */
  logTimestamp?: boolean
  /** `log_timestamp_format`, already checked. */
  logTimestampFormat?: string
  /** `pid_file`: where to write the process id. */
  pidFile?: string
  /** Every file read, main file first, then included ones in the order they were read. */
  files: string[]
}

interface ConfState {
  conf: MosquittoConf
  /** `port` / `bind_address`: Mosquitto's default listener. */
  defaultListener?: { port?: number, host?: string }
  listeners: ListenerOptions[]
  allowAnonymous?: boolean
}

type WordHandler = (state: ConfState, line: ConfLine, isMainFile: boolean) => void

/** A word that sets one broker option, checked by the options schema on its own line. */
function option<K extends keyof BrokerOptions> (key: K, read: (line: ConfLine) => BrokerOptions[K]): WordHandler {
  return (state, line) => {
    const value = read(line)
    checkAgainstSchema(line, { [key]: value })
    state.conf.options[key] = value
  }
}

/** Runs one value through resolveOptions() so the message reads as it does for every entry point. */
function checkAgainstSchema (line: ConfLine, partial: Partial<BrokerOptions>): void {
  try {
    resolveOptions(partial)
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`'${line.word} ${line.rest}': ${error.message}`, line.source)
    throw error
  }
}

function readListener (line: ConfLine): ListenerOptions {
  const [portText, host, extra] = line.values
  if (portText === undefined) throw new ConfigError("'listener' needs a port number: listener <port> [bind address]", line.source)
  if (extra !== undefined) throw new ConfigError(`'listener' takes a port and an optional bind address, not '${line.rest}'`, line.source)
  if (host !== undefined && host.includes('/')) throw new ConfigError(`unix socket listeners ('${host}') are not supported yet`, line.source)
  const listener: ListenerOptions = { port: parseInteger(line, portText) }
  if (host !== undefined) listener.host = host
  checkAgainstSchema(line, { listeners: [listener] })
  return listener
}

const WORDS: Record<string, WordHandler> = {
  listener (state, line) {
    state.listeners.push(readListener(line))
    state.conf.definesListener = true
  },
  port (state, line) {
    const port = parseInteger(line)
    checkAgainstSchema(line, { listeners: [{ port }] })
    state.defaultListener = { ...state.defaultListener, port }
    state.conf.definesListener = true
  },
  bind_address (state, line) {
    const host = singleValue(line)
    state.defaultListener = { ...state.defaultListener, host }
    state.conf.definesListener = true
  },
  allow_anonymous (state, line) { state.allowAnonymous = parseBoolean(line) },
  // Mosquitto applies max_connections to the listener it follows; Roost's limit is broker-wide.
  max_connections: option('maxConnections', (line) => parseInteger(line)),
  max_inflight_messages: option('maxInflightMessages', (line) => parseInteger(line)),
  max_inflight_bytes: option('maxInflightBytes', (line) => parseInteger(line)),
  max_queued_messages: option('maxQueuedMessages', (line) => parseInteger(line)),
  max_queued_bytes: option('maxQueuedBytes', (line) => parseInteger(line)),
  queue_qos0_messages: option('queueQos0Messages', parseBoolean),
  upgrade_outgoing_qos: option('upgradeOutgoingQos', parseBoolean),
  message_size_limit: option('messageSizeLimit', (line) => parseInteger(line)),
  max_keepalive: option('maxKeepalive', (line) => parseInteger(line)),
  retain_available: option('retainAvailable', parseBoolean),
  // MQTT 5: Maximum Packet Size and Topic Alias Maximum announced in CONNACK.
  max_packet_size: option('maxPacketSize', (line) => parseInteger(line)),
  max_topic_alias: option('maxTopicAlias', (line) => parseInteger(line)),
  max_qos: option('maxQos', (line) => parseInteger(line) as 0 | 1 | 2),
  // Mosquitto reads both spellings.
  maximum_qos: option('maxQos', (line) => parseInteger(line) as 0 | 1 | 2),
  persistent_client_expiration: option('persistentClientExpirationSec', parseDurationSec),
  sys_interval: option('sysIntervalSec', (line) => parseInteger(line)),
  persistence: option('persistence', parseBoolean),
  // Mosquitto's older name for persistence.
  retained_persistence: option('persistence', parseBoolean),
  persistence_location: option('persistenceLocation', restOfLine),
  persistence_file: option('persistenceFile', restOfLine),
  autosave_interval: option('autosaveIntervalSec', (line) => parseInteger(line)),
  autosave_on_changes: option('autosaveOnChanges', parseBoolean),
  // Roost's own words (Mosquitto has neither): a file that uses them is for Roost only.
  connect_timeout: option('connectTimeoutSec', (line) => parseInteger(line)),
  incomplete_packet_timeout: option('incompletePacketTimeoutSec', (line) => parseInteger(line)),
  persistence_sync: option('persistenceSync', (line) => singleValue(line) as BrokerOptions['persistenceSync']),
  password_file (state, line) {
    const file = restOfLine(line)
    state.conf.passwordFile = { path: file, users: readPasswordFile(file, line.source) }
  },
  log_type (state, line) {
    state.conf.logTypes ??= new Set()
    addLogType(state.conf.logTypes, line, singleValue(line))
  },
  log_dest (state, line) {
    state.conf.logDestinations ??= new Set()
    state.conf.logFiles ??= []
    // `log_dest file <path>` takes the rest of the line; every other destination is one word.
    const [destination] = line.values
    addLogDestination(state.conf.logDestinations, state.conf.logFiles, line, destination === 'file' ? destination : singleValue(line))
  },
  log_timestamp (state, line) { state.conf.logTimestamp = parseBoolean(line) },
  log_timestamp_format (state, line) { state.conf.logTimestampFormat = readTimestampFormat(line) },
  pid_file (state, line) { state.conf.pidFile = restOfLine(line) },
  include_dir (state, line, isMainFile) {
    // As in Mosquitto: only the main file may include, so includes cannot loop.
    if (!isMainFile) throw new ConfigError("'include_dir' is only allowed in the main configuration file", line.source)
    for (const file of confFilesIn(restOfLine(line), line)) readInto(state, file, false)
  }
}

/**
 * The `*.conf` files of an include_dir in Mosquitto's order: case-sensitive, capitals first
 * (plain code-unit order). Paths are taken as written, relative to the working directory, as
 * Mosquitto does.
 */
function confFilesIn (dir: string, line: ConfLine): string[] {
  let names: string[]
  try {
    names = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith('.conf')).map((entry) => entry.name)
  } catch (error) {
    throw new ConfigError(`cannot read include_dir '${dir}': ${describeFsError(error)}`, line.source)
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((name) => path.join(dir, name))
}

function readInto (state: ConfState, file: string, isMainFile: boolean): void {
  state.conf.files.push(file)
  for (const line of readConfFile(file)) {
    const handler = Object.prototype.hasOwnProperty.call(WORDS, line.word) ? WORDS[line.word] : undefined
    if (handler !== undefined) {
      handler(state, line, isMainFile)
    } else if (NOT_YET_SUPPORTED_WORDS.has(line.word)) {
      throw new ConfigError(`'${line.word}' is not supported yet`, line.source)
    } else {
      throw new ConfigError(`unknown configuration word '${line.word}'`, line.source)
    }
  }
}

/** Reads a mosquitto.conf file (and its include_dir files). Throws ConfigError naming file:line. */
export function readMosquittoConf (file: string): MosquittoConf {
  const state: ConfState = { conf: { options: {}, definesListener: false, files: [] }, listeners: [] }
  readInto(state, file, true)
  const { conf } = state
  const listeners: ListenerOptions[] = []
  if (state.defaultListener !== undefined) {
    const { port = 1883, host } = state.defaultListener
    listeners.push(host === undefined ? { port } : { port, host })
  }
  listeners.push(...state.listeners)
  if (listeners.length > 0) conf.options.listeners = listeners
  // Mosquitto 2: once a file configures a listener, anonymous clients are refused unless
  // allow_anonymous says otherwise. Without a listener the broker runs in local-only mode, where
  // anonymous clients are allowed.
  conf.options.allowAnonymous = state.allowAnonymous ?? !conf.definesListener
  // Whole-file check, for anything that only shows when options meet.
  resolveOptions(conf.options)
  return conf
}
