// The command lines of `roost pub`, `roost sub` and `roost rr`: mosquitto_pub/sub/rr's flags, the
// tools each belongs to, their checks and messages (client_shared.c of Mosquitto is the reference
// for which flag goes with which tool and what is refused).
import { ToolUsageError } from './errors'
import { ALIASES, ONLY, SWITCHES, WITH_VALUE } from './flags'
import { emptyProperties, parseProperty, type ToolProperties } from './properties'

export type ToolName = 'pub' | 'sub' | 'rr'

/** Where pub and rr take the message from: -m, -f, -s, -l or -n. */
export type MessageMode = 'none' | 'message' | 'file' | 'stdin-file' | 'stdin-line' | 'null'

export interface ToolTls {
  cafile?: string
  capath?: string
  certfile?: string
  keyfile?: string
  /** --insecure: the server certificate's host name is not checked. */
  insecure: boolean
  version?: 'tlsv1.1' | 'tlsv1.2' | 'tlsv1.3'
  ciphers?: string
  alpn?: string
  /** --psk: the pre-shared key in hexadecimal. */
  psk?: string
  pskIdentity?: string
  /** --tls-use-os-certs, or an mqtts:// URL: TLS trusting the system's CAs. */
  useOsCerts: boolean
}

export interface ToolConfig {
  tool: ToolName
  host: string
  /** -p; undefined picks 1883, or 8883 with TLS. */
  port: number | undefined
  username?: string
  password?: string
  clientId?: string
  /** -I: the client id is this prefix and the process id. */
  idPrefix?: string
  keepaliveSec: number
  cleanSession: boolean
  protocolVersion: 3 | 4 | 5
  /** -x: MQTT 5 session expiry interval; undefined when not given. */
  sessionExpirySec?: number
  qos: 0 | 1 | 2
  /** pub: -r. */
  retain: boolean
  /** sub: the filters of -t (and -L). */
  filters: string[]
  /** pub and rr: the topic of -t (and -L). */
  topic?: string
  /** rr: -e. */
  responseTopic?: string
  messageMode: MessageMode
  /** -m's text. */
  message?: string
  /** -f's file. */
  file?: string
  /** pub: --repeat and --repeat-delay (seconds). */
  repeatCount: number
  repeatDelaySec: number
  /** -M: QoS 1/2 messages in flight at once. */
  maxInflight: number
  /** sub: -C; rr: always 1. 0 for no limit. */
  messageCount: number
  /** sub: -T. */
  filterOut: string[]
  /** sub: -U. */
  unsubscribe: string[]
  /** -R: retained messages are not printed (and, in MQTT 5, not sent). */
  noRetain: boolean
  retainedOnly: boolean
  removeRetained: boolean
  retainAsPublished: boolean
  /** sub: -E. */
  exitAfterSubscribe: boolean
  /** -W in seconds; 0 for none. */
  timeoutSec: number
  verbose: boolean
  /** Not -N. */
  eol: boolean
  format?: string
  pretty: boolean
  debug: boolean
  quiet: boolean
  /** --random-filter in tenths of a percent, 1000 for all. */
  randomFilter: number
  /** --will-topic, --will-payload, --will-qos, --will-retain. */
  willTopic?: string
  willPayload?: string
  willQos: 0 | 1 | 2
  willRetain: boolean
  tls: ToolTls
  properties: ToolProperties
}

export type ParsedTool = ToolConfig | 'help' | 'version'

function defaults (tool: ToolName): ToolConfig {
  return {
    tool,
    host: 'localhost',
    port: undefined,
    keepaliveSec: 60,
    cleanSession: true,
    protocolVersion: tool === 'rr' ? 5 : 4,
    qos: 0,
    retain: false,
    filters: [],
    messageMode: 'none',
    repeatCount: 1,
    repeatDelaySec: 0,
    maxInflight: 20,
    messageCount: tool === 'rr' ? 1 : 0,
    filterOut: [],
    unsubscribe: [],
    noRetain: false,
    retainedOnly: false,
    removeRetained: false,
    retainAsPublished: false,
    exitAfterSubscribe: false,
    timeoutSec: 0,
    verbose: false,
    eol: true,
    pretty: false,
    debug: false,
    quiet: false,
    randomFilter: 1000,
    willQos: 0,
    willRetain: false,
    tls: { insecure: false, useOsCerts: false },
    properties: emptyProperties()
  }
}

/** Checks that hold for the whole command line, in mosquitto's order. */
function checkTogether (config: ToolConfig): void {
  const fail = (message: string): never => { throw new ToolUsageError(message) }
  if (config.willPayload !== undefined && config.willTopic === undefined) fail('Error: Will payload given, but no will topic given.')
  if (config.willRetain && config.willTopic === undefined) fail('Error: Will retain given, but no will topic given.')
  const tls = config.tls
  if ((tls.certfile === undefined) !== (tls.keyfile === undefined)) fail('Error: Both certfile and keyfile must be provided if one of them is set.')
  if ((tls.cafile !== undefined || tls.capath !== undefined) && tls.psk !== undefined) fail('Error: Only one of --psk or --cafile/--capath may be used at once.')
  if (tls.psk !== undefined && tls.pskIdentity === undefined) fail('Error: --psk-identity required if --psk used.')
  if (config.protocolVersion === 5) {
    // -c in MQTT 5 keeps the session for ever unless -x says otherwise.
    if (!config.cleanSession && config.sessionExpirySec === undefined) config.sessionExpirySec = 0xffffffff
    if (config.sessionExpirySec === 0xffffffff && (config.idPrefix !== undefined || config.clientId === undefined)) {
      fail('Error: You must provide a client id if you are using an infinite session expiry interval.')
    }
  } else if (!config.cleanSession && (config.idPrefix !== undefined || config.clientId === undefined)) {
    fail('Error: You must provide a client id if you are using the -c option.')
  }
  if (config.tool === 'sub' && config.filters.length === 0) fail('Error: You must specify a topic to subscribe to.')
  if (config.tool === 'sub' && config.noRetain && config.retainedOnly) fail('Error: Combining \'-R\' and \'--retained-only\' makes no sense.')
  if (config.tool === 'pub' && (config.topic === undefined || config.messageMode === 'none')) fail('Error: Both topic and message must be supplied.')
  if (config.tool === 'rr' && (config.topic === undefined || config.messageMode === 'none' || config.responseTopic === undefined)) {
    fail('Error: All of topic, message, and response topic must be supplied.')
  }
}

/** Reads a tool's arguments (after `roost pub|sub|rr`). Throws ToolUsageError. */
export function parseToolArgs (tool: ToolName, args: readonly string[]): ParsedTool {
  const config = defaults(tool)
  for (let i = 0; i < args.length; i++) {
    const given = args[i] as string
    const flag = ALIASES[given] ?? given
    if (flag === '--help') return 'help'
    if (flag === '--version') return 'version'
    const allowed = ONLY[flag] ?? ONLY[given]
    if (allowed !== undefined && !allowed.includes(tool)) throw new ToolUsageError(`Error: Unknown option '${given}'.`)
    if (flag === '-D') {
      i += parseProperty(args, i + 1, config.properties)
      config.protocolVersion = 5
      continue
    }
    const switchFlag = SWITCHES[flag]
    if (switchFlag !== undefined) {
      switchFlag(config)
      continue
    }
    const withValue = WITH_VALUE[flag]
    if (withValue === undefined) throw new ToolUsageError(`Error: Unknown option '${given}'.`)
    const value = args[i + 1]
    if (value === undefined) throw new ToolUsageError(`Error: ${given} argument given but no ${withValue.what} specified.`)
    withValue.read(config, value)
    i++
  }
  checkTogether(config)
  return config
}
