// Reads a file in mosquitto.conf syntax into Roost's broker options, plus the parts that belong to
// the process rather than the broker (password file, logging, pid file). Every value passes through
// the same JSON schema as every other entry point; every error names `file:line`.
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { type ClusterOptions, clusterOptionsProblem } from '../cluster/options'
import { ConfigError } from '../errors'
import type { LogLevel } from '../logger'
import { type BrokerOptions, type ListenerOptions, resolveOptions } from '../options'
import type { ListenerProtocol } from '../transport/listeners'
import { type BridgeSections, finishBridges, isBridgeWord, readBridgeWord } from './bridge-words'
import { type ConfLine, describeFsError, readConfFile } from './lines'
import { addLogDestination, addLogType, type LogDestination, type LogFileDestination, readTimestampFormat } from './logging'
import { readAclFile } from '../auth/acl-file'
import { readPasswordFile } from './password-file'
import { checkListenerTls, TLS_WORDS } from './tls-words'
import { NOT_YET_SUPPORTED_WORDS } from './unsupported-words'
import { parseBoolean, parseDurationSec, parseInteger, restOfLine, singleValue } from './values'

export interface MosquittoConf {
  /** Broker options the file sets, each already checked against the options schema. */
  options: Partial<BrokerOptions>
  /** Whether the file defines any listener (`listener`, `port` or `bind_address`). */
  definesListener: boolean
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

/** What a file may set on one listener before it exists as ListenerOptions. */
type ListenerSettings = Omit<ListenerOptions, 'port'> & { port?: number }

interface ConfState {
  conf: MosquittoConf
  /**
   * `port` / `bind_address`, and listener words before any `listener` line (TLS words; with
   * per_listener_settings, security words): Mosquitto's default listener, with the line that made it.
   */
  defaultListener?: ListenerSettings & { source?: string }
  listeners: ListenerOptions[]
  /** Where each of `listeners` was opened, for errors found once the file is read. */
  listenerSources: string[]
  /** The last `psk_file`: the keys of every PSK listener that has none of its own. */
  pskFile?: string
  allowAnonymous?: boolean
  /** A security word (password_file, acl_file, allow_anonymous, ...) was read: per_listener_settings may no longer change. */
  securitySeen: boolean
  bridges: BridgeSections
  /** The first cluster word other than cluster_nats_url, named when the file has no server for it. */
  firstClusterWord?: string
}

/** Where a cluster word is checked on its own line: the servers come from other lines. */
const PROBE_NATS_URL = 'nats://127.0.0.1'

type WordHandler = (state: ConfState, line: ConfLine, isMainFile: boolean) => void

/** A word that sets one broker option, checked by the options schema on its own line. */
function option<K extends keyof BrokerOptions> (key: K, read: (line: ConfLine) => BrokerOptions[K]): WordHandler {
  return (state, line) => {
    const value = read(line)
    checkAgainstSchema(line, { [key]: value })
    state.conf.options[key] = value
  }
}

/** A line that sets one field of the cluster options, checked on its own beside a stand-in server. */
function clusterWord<K extends Exclude<keyof ClusterOptions, 'servers' | 'tls' | 'reconnectWaitMs' | 'heartbeatMs' | 'deadAfterHeartbeats'>> (field: K, read: (line: ConfLine) => NonNullable<ClusterOptions[K]>): WordHandler {
  return (state, line) => {
    const value = read(line)
    // A password is checked beside a stand-in user: whether the file names one shows once it is read.
    const probe: ClusterOptions = { servers: [PROBE_NATS_URL], ...(field === 'password' ? { username: 'probe' } : {}), [field]: value }
    checkAgainstSchema(line, { cluster: probe })
    state.firstClusterWord ??= line.word
    ;(state.conf.options.cluster ??= { servers: [] })[field] = value
  }
}

/** A line naming one TLS file for the link to NATS. */
function clusterTlsWord (field: 'cafile' | 'certfile' | 'keyfile'): WordHandler {
  return (state, line) => {
    const file = restOfLine(line)
    // A certificate is checked beside a stand-in key and the other way round, as with the password.
    const probe = field === 'cafile' ? { cafile: file } : { certfile: file, keyfile: file }
    checkAgainstSchema(line, { cluster: { servers: [PROBE_NATS_URL], tls: probe } })
    state.firstClusterWord ??= line.word
    ;((state.conf.options.cluster ??= { servers: [] }).tls ??= {})[field] = file
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

/** The listener the lines after a `listener` line configure; undefined before the first one. */
function currentListener (state: ConfState): ListenerOptions | undefined {
  return state.listeners[state.listeners.length - 1]
}

/**
 * Where a per_listener_settings word goes: with the option on, the listener it follows (the
 * default listener before any `listener` line, which that creates, as in Mosquitto); without it,
 * the broker-wide options, wherever the line is.
 */
function securityTarget (state: ConfState): ListenerSettings | undefined {
  state.securitySeen = true
  if (state.conf.options.perListenerSettings !== true) return undefined
  const listener = currentListener(state)
  if (listener !== undefined) return listener
  state.conf.definesListener = true
  return (state.defaultListener ??= {})
}

/** A word that sets a broker-wide security option, which per_listener_settings cannot split. */
function globalSecurity<K extends keyof BrokerOptions> (key: K, read: (line: ConfLine) => BrokerOptions[K]): WordHandler {
  const set = option(key, read)
  return (state, line, isMainFile) => {
    // Mosquitto keeps this one per listener with per_listener_settings; Roost has one value for
    // every listener, so a file asking for a listener's own value is refused rather than misread.
    if (state.conf.options.perListenerSettings === true && currentListener(state) !== undefined) {
      throw new ConfigError(`'${line.word}' applies to every listener in Roost, so with per_listener_settings true it must come before the first 'listener' line`, line.source)
    }
    state.securitySeen = true
    set(state, line, isMainFile)
  }
}

/** password_file or acl_file: read once here so a bad file stops at its configuration line. */
function securityFile (key: 'passwordFile' | 'aclFile', check: (file: string, mentionedAt: string) => unknown): WordHandler {
  return (state, line) => {
    const file = restOfLine(line)
    check(file, line.source)
    const target = securityTarget(state)
    if (target === undefined) state.conf.options[key] = file
    else target[key] = file
  }
}

/**
 * The listener a listener word (`protocol`, `websockets_headers_size`) sets: the last `listener`
 * above it, or before any, Mosquitto's default listener (which the word opens, on port 1883, as
 * the TLS words do).
 */
function listenerForWord (state: ConfState, line: ConfLine): ListenerSettings {
  const last = currentListener(state)
  if (last !== undefined) return last
  state.conf.definesListener = true
  return (state.defaultListener ??= { source: line.source })
}

const WORDS: Record<string, WordHandler> = {
  listener (state, line) {
    state.listeners.push(readListener(line))
    state.listenerSources.push(line.source)
    state.conf.definesListener = true
  },
  port (state, line) {
    const port = parseInteger(line)
    checkAgainstSchema(line, { listeners: [{ port }] })
    state.defaultListener = { source: line.source, ...state.defaultListener, port }
    state.conf.definesListener = true
  },
  bind_address (state, line) {
    const host = singleValue(line)
    state.defaultListener = { source: line.source, ...state.defaultListener, host }
    state.conf.definesListener = true
  },
  protocol (state, line) {
    const listener = listenerForWord(state, line)
    const protocol = singleValue(line) as ListenerProtocol
    checkAgainstSchema(line, { listeners: [{ port: 0, protocol }] })
    listener.protocol = protocol
  },
  websockets_headers_size (state, line) {
    const listener = listenerForWord(state, line)
    const websocketsHeadersSize = parseInteger(line)
    checkAgainstSchema(line, { listeners: [{ port: 0, websocketsHeadersSize }] })
    listener.websocketsHeadersSize = websocketsHeadersSize
  },
  http_dir (_state, line) {
    throw new ConfigError("'http_dir' is not supported: Roost's WebSocket listeners serve MQTT only, not files over HTTP", line.source)
  },
  allow_anonymous (state, line) {
    const allow = parseBoolean(line)
    const target = securityTarget(state)
    if (target === undefined) state.allowAnonymous = allow
    else target.allowAnonymous = allow
  },
  password_file: securityFile('passwordFile', readPasswordFile),
  acl_file: securityFile('aclFile', readAclFile),
  per_listener_settings (state, line) {
    const perListener = parseBoolean(line)
    // As Mosquitto: the words before it would have gone to the wrong place.
    if (state.securitySeen && perListener !== (state.conf.options.perListenerSettings ?? false)) {
      throw new ConfigError('per_listener_settings must be set before any other security setting', line.source)
    }
    state.conf.options.perListenerSettings = perListener
  },
  allow_zero_length_clientid: globalSecurity('allowZeroLengthClientid', parseBoolean),
  auto_id_prefix: globalSecurity('autoIdPrefix', restOfLine),
  // Global in Mosquitto too (clientid_prefixes is deprecated there, still honoured).
  clientid_prefixes: option('clientidPrefixes', restOfLine),
  // A listener word in Mosquitto; Roost applies it to every listener.
  use_username_as_clientid: option('useUsernameAsClientid', parseBoolean),
  check_retain_source: option('checkRetainSource', parseBoolean),
  mount_point (state, line) {
    const listener = currentListener(state)
    // As in Mosquitto: a mount point belongs to a listener defined with `listener`.
    if (listener === undefined) throw new ConfigError("'mount_point' must follow a 'listener' line", line.source)
    const mountPoint = singleValue(line)
    checkAgainstSchema(line, { listeners: [{ port: 0, mountPoint }] })
    listener.mountPoint = mountPoint
  },
  // After a `listener` line, that listener's limit (Mosquitto's meaning); before any, the
  // broker-wide limit, which is the default listener's when it is the only one.
  max_connections (state, line) {
    const max = parseInteger(line)
    checkAgainstSchema(line, { maxConnections: max })
    const listener = currentListener(state)
    if (listener === undefined) state.conf.options.maxConnections = max
    else listener.maxConnections = max
  },
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
  bridge_split_horizon: option('bridgeSplitHorizon', parseBoolean),
  persistence_sync: option('persistenceSync', (line) => singleValue(line) as BrokerOptions['persistenceSync']),
  // Several Roost brokers as one over NATS (lib/cluster): one server URL a line, tried in turn.
  cluster_nats_url (state, line) {
    const url = singleValue(line)
    checkAgainstSchema(line, { cluster: { servers: [url] } })
    ;(state.conf.options.cluster ??= { servers: [] }).servers.push(url)
  },
  cluster_node_id: clusterWord('nodeId', singleValue),
  cluster_replicas: clusterWord('replicas', (line) => parseInteger(line)),
  cluster_nats_username: clusterWord('username', singleValue),
  cluster_nats_password: clusterWord('password', singleValue),
  cluster_nats_token: clusterWord('token', singleValue),
  cluster_nats_credentials: clusterWord('credentials', restOfLine),
  cluster_nats_nkeyfile: clusterWord('nkeyfile', restOfLine),
  cluster_nats_cafile: clusterTlsWord('cafile'),
  cluster_nats_certfile: clusterTlsWord('certfile'),
  cluster_nats_keyfile: clusterTlsWord('keyfile'),
  cluster_backlog_messages: clusterWord('backlogMessages', (line) => parseInteger(line)),
  cluster_backlog_bytes: clusterWord('backlogBytes', (line) => parseInteger(line)),
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
  ...tlsWordHandlers(),
  include_dir (state, line, isMainFile) {
    // As in Mosquitto: only the main file may include, so includes cannot loop.
    if (!isMainFile) throw new ConfigError("'include_dir' is only allowed in the main configuration file", line.source)
    for (const file of confFilesIn(restOfLine(line), line)) readInto(state, file, false)
  }
}

/**
 * The TLS words set a field of the listener they follow, or of the default listener before any
 * `listener` line, as in Mosquitto (which opens the default listener for them, on port 1883).
 */
function tlsWordHandlers (): Record<string, WordHandler> {
  const handlers: Record<string, WordHandler> = {
    // Mosquitto's psk_file serves every PSK listener unless per_listener_settings ties it to one:
    // before any listener it is only remembered, after one it is also that listener's own.
    psk_file (state, line) {
      state.pskFile = restOfLine(line)
      const last = currentListener(state) ?? state.defaultListener
      if (last !== undefined) (last.tls ??= {}).pskFile = state.pskFile
    }
  }
  for (const [word, read] of Object.entries(TLS_WORDS)) {
    if (word === 'psk_file') continue
    handlers[word] = (state, line) => { read(listenerForWord(state, line).tls ??= {}, line) }
  }
  return handlers
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
    } else if (isBridgeWord(line.word)) {
      readBridgeWord(state.bridges, line)
    } else if (NOT_YET_SUPPORTED_WORDS.has(line.word)) {
      throw new ConfigError(`'${line.word}' is not supported yet`, line.source)
    } else {
      throw new ConfigError(`unknown configuration word '${line.word}'`, line.source)
    }
  }
}

/** Reads a mosquitto.conf file (and its include_dir files). Throws ConfigError naming file:line. */
export function readMosquittoConf (file: string): MosquittoConf {
  const state: ConfState = { conf: { options: {}, definesListener: false, files: [] }, listeners: [], listenerSources: [], securitySeen: false, bridges: { bridges: [], sources: [] } }
  readInto(state, file, true)
  const { conf } = state
  if (state.bridges.bridges.length > 0) conf.options.bridges = finishBridges(state.bridges)
  const listeners: ListenerOptions[] = []
  const sources: string[] = []
  if (state.defaultListener !== undefined) {
    const { port = 1883, source = file, ...rest } = state.defaultListener
    listeners.push({ port, ...rest })
    sources.push(source)
  }
  listeners.push(...state.listeners)
  sources.push(...state.listenerSources)
  listeners.forEach((listener, index) => { checkListenerTls(listener, sources[index] as string, state.pskFile) })
  if (listeners.length > 0) conf.options.listeners = listeners
  // Mosquitto 2: once a file configures a listener, anonymous clients are refused unless
  // allow_anonymous says otherwise. Without a listener the broker runs in local-only mode, where
  // anonymous clients are allowed.
  conf.options.allowAnonymous = state.allowAnonymous ?? !conf.definesListener
  if (conf.options.cluster?.servers.length === 0) throw new ConfigError(`'${state.firstClusterWord ?? 'cluster_node_id'}' needs a 'cluster_nats_url' line`, file)
  const clusterProblem = conf.options.cluster === undefined ? undefined : clusterOptionsProblem(conf.options.cluster)
  if (clusterProblem !== undefined) throw new ConfigError(`cluster ${clusterProblem}`, file)
  // Whole-file check, for anything that only shows when options meet.
  resolveOptions(conf.options)
  return conf
}
