// The flags of Mosquitto's client tools, one table entry each: which tools take it, what value it
// takes and how it sets the command line's config, with mosquitto's message when a value is bad.
import { topicFilterProblem, topicNameProblem } from '../topics/validate'
import type { MessageMode, ToolConfig, ToolName } from './args'
import { ToolUsageError } from './errors'
import { checkFormat, FormatError } from './format'

/** Which tools know each flag that is not known to all. */
export const ONLY: Record<string, readonly ToolName[]> = {
  '-C': ['sub'],
  '-e': ['rr'],
  '-E': ['sub'],
  '-f': ['pub', 'rr'],
  '--file': ['pub', 'rr'],
  '-F': ['sub', 'rr'],
  '-l': ['pub'],
  '--stdin-line': ['pub'],
  '-m': ['pub', 'rr'],
  '--message': ['pub', 'rr'],
  '-n': ['pub', 'rr'],
  '--null-message': ['pub', 'rr'],
  '-N': ['sub', 'rr'],
  '--pretty': ['sub', 'rr'],
  '-r': ['pub'],
  '--retain': ['pub'],
  '-R': ['sub', 'rr'],
  '--random-filter': ['sub'],
  '--remove-retained': ['sub'],
  '--repeat': ['pub'],
  '--repeat-delay': ['pub'],
  '--retain-as-published': ['sub', 'rr'],
  '--retained-only': ['sub'],
  '-s': ['pub', 'rr'],
  '--stdin-file': ['pub', 'rr'],
  '-T': ['sub'],
  '--filter-out': ['sub'],
  '-U': ['sub'],
  '--unsubscribe': ['sub'],
  '-v': ['sub', 'rr'],
  '--verbose': ['sub', 'rr'],
  '-W': ['sub', 'rr']
}

/** A whole decimal number, or undefined (where C's atoi would quietly read 0). */
function integer (text: string): number | undefined {
  return /^[+-]?\d+$/.test(text.trim()) ? Number(text) : undefined
}

function qosOf (text: string, message: (value: string) => string): 0 | 1 | 2 {
  const value = integer(text)
  if (value !== 0 && value !== 1 && value !== 2) throw new ToolUsageError(message(text))
  return value
}

function setMessageMode (config: ToolConfig, mode: MessageMode): void {
  if (config.messageMode !== 'none') throw new ToolUsageError('Error: Only one type of message can be sent at once.')
  config.messageMode = mode
}

/** -t, -L's topic and -e: a topic to publish to, or (sub) a filter to subscribe to. */
function addTopic (config: ToolConfig, topic: string, kind: 'topic' | 'response'): void {
  if (kind === 'response') {
    if (topicNameProblem(topic) !== undefined) throw new ToolUsageError(`Error: Invalid response topic '${topic}', does it contain '+' or '#'?`)
    config.responseTopic = topic
  } else if (config.tool === 'sub') {
    if (topicFilterProblem(topic) !== undefined) throw new ToolUsageError(`Error: Invalid subscription topic '${topic}', are all '+' and '#' wildcards correct?`)
    config.filters.push(topic)
  } else {
    if (topicNameProblem(topic) !== undefined) throw new ToolUsageError(`Error: Invalid publish topic '${topic}', does it contain '+' or '#'?`)
    config.topic = topic
  }
}

/** -L mqtt(s)://[username[:password]@]host[:port]/topic */
function readUrl (config: ToolConfig, url: string): void {
  let rest: string
  if (url.toLowerCase().startsWith('mqtt://')) {
    rest = url.slice(7)
    config.port = 1883
  } else if (url.toLowerCase().startsWith('mqtts://')) {
    rest = url.slice(8)
    config.port = 8883
    config.tls.useOsCerts = true
  } else {
    throw new ToolUsageError('Error: unsupported URL scheme.')
  }
  const slash = rest.indexOf('/')
  if (slash < 0) throw new ToolUsageError('Error: Invalid URL for -L argument specified - topic missing.')
  addTopic(config, rest.slice(slash + 1), 'topic')
  let authority = rest.slice(0, slash)
  const at = authority.indexOf('@')
  if (at >= 0) {
    const credentials = authority.slice(0, at)
    const colon = credentials.indexOf(':')
    config.username = colon < 0 ? credentials : credentials.slice(0, colon)
    if (colon >= 0) config.password = credentials.slice(colon + 1)
    authority = authority.slice(at + 1)
  }
  const colon = authority.indexOf(':')
  config.host = colon < 0 ? authority : authority.slice(0, colon)
  if (colon >= 0) {
    const port = integer(authority.slice(colon + 1))
    if (port === undefined || port < 1 || port > 65535) throw new ToolUsageError(`Error: Invalid port given: ${authority.slice(colon + 1)}`)
    config.port = port
  }
}

/** -x: seconds, or -1 / ∞ for a session that never expires. */
function sessionExpiry (text: string): number {
  if (text === '∞') return 0xffffffff
  const value = integer(text)
  if (value === undefined) throw new ToolUsageError('Error: session-expiry-interval not a number.')
  if (value < -1 || value > 0xffffffff) throw new ToolUsageError('Error: session-expiry-interval out of range.')
  return value === -1 ? 0xffffffff : value
}

type FlagReader = (config: ToolConfig, value: string) => void

/** A flag taking a whole number from min to max; `message` is mosquitto's words for a bad one. */
function integerFlag (what: string, min: number, max: number, message: (value: string) => string,
  set: (config: ToolConfig, value: number) => void): { what: string, read: FlagReader } {
  return {
    what,
    read: (config, text) => {
      const value = integer(text)
      if (value === undefined || value < min || value > max) throw new ToolUsageError(message(text))
      set(config, value)
    }
  }
}

/** Flags that take a value, with what they do with it. */
export const WITH_VALUE: Record<string, { what: string, read: FlagReader }> = {
  '-h': { what: 'host', read: (c, v) => { c.host = v } },
  '-p': integerFlag('port', 1, 65535, (v) => `Error: Invalid port given: ${v}`, (c, value) => { c.port = value }),
  '-L': { what: 'URL', read: readUrl },
  '-t': { what: 'topic', read: (c, v) => addTopic(c, v, 'topic') },
  '-e': { what: 'response topic', read: (c, v) => addTopic(c, v, 'response') },
  '-m': { what: 'message', read: (c, v) => { setMessageMode(c, 'message'); c.message = v } },
  '-f': { what: 'file', read: (c, v) => { setMessageMode(c, 'file'); c.file = v } },
  '-q': { what: 'QoS', read: (c, v) => { c.qos = qosOf(v, (text) => `Error: Invalid QoS given: ${text}`) } },
  '-i': {
    what: 'id',
    read: (c, v) => {
      if (c.idPrefix !== undefined) throw new ToolUsageError('Error: -i and -I argument cannot be used together.')
      c.clientId = v
    }
  },
  '-I': {
    what: 'id prefix',
    read: (c, v) => {
      if (c.clientId !== undefined) throw new ToolUsageError('Error: -i and -I argument cannot be used together.')
      c.idPrefix = v
    }
  },
  '-u': { what: 'username', read: (c, v) => { c.username = v } },
  '-P': { what: 'password', read: (c, v) => { c.password = v } },
  '-k': integerFlag('keepalive', 5, 65535, () => 'Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.', (c, value) => { c.keepaliveSec = value }),
  '-V': {
    what: 'version',
    read: (c, v) => {
      const versions: Record<string, 3 | 4 | 5> = { mqttv31: 3, 31: 3, mqttv311: 4, 311: 4, mqttv5: 5, 5: 5 }
      const version = versions[v]
      if (version === undefined) throw new ToolUsageError('Error: Invalid protocol version argument given.')
      c.protocolVersion = version
    }
  },
  '-x': { what: 'session expiry interval', read: (c, v) => { c.sessionExpirySec = sessionExpiry(v) } },
  '-C': integerFlag('count', 1, 2 ** 31 - 1, (v) => `Error: Invalid message count "${v}".`, (c, value) => { c.messageCount = value }),
  '-W': integerFlag('timeout', 1, 2 ** 31 - 1, (v) => `Error: Invalid timeout "${v}".`, (c, value) => { c.timeoutSec = value }),
  '-M': integerFlag('max_inflight', 1, 65535, () => 'Error: Maximum inflight messages must be greater than 0.', (c, value) => { c.maxInflight = value }),
  '-F': {
    what: 'format',
    read: (c, v) => {
      try {
        checkFormat(v)
      } catch (error) {
        if (error instanceof FormatError) throw new ToolUsageError(error.message)
        throw error
      }
      c.format = v
    }
  },
  '-T': {
    what: 'topic filter',
    read: (c, v) => {
      if (topicFilterProblem(v) !== undefined) throw new ToolUsageError(`Error: Invalid filter topic '${v}', are all '+' and '#' wildcards correct?`)
      c.filterOut.push(v)
    }
  },
  '-U': {
    what: 'unsubscribe topic',
    read: (c, v) => {
      if (topicFilterProblem(v) !== undefined) throw new ToolUsageError(`Error: Invalid unsubscribe topic '${v}', are all '+' and '#' wildcards correct?`)
      c.unsubscribe.push(v)
    }
  },
  '--repeat': integerFlag('count', 1, 2 ** 31 - 1, () => 'Error: --repeat argument must be >0.', (c, value) => { c.repeatCount = value }),
  '--repeat-delay': {
    what: 'time',
    read: (c, v) => {
      const value = Number(v)
      if (v.trim() === '' || !Number.isFinite(value) || value < 0) throw new ToolUsageError('Error: --repeat-delay argument must be >=0.0.')
      c.repeatDelaySec = value
    }
  },
  '--random-filter': {
    what: 'chance',
    read: (c, v) => {
      const value = Math.trunc(10 * Number(v))
      if (!(value >= 1 && value <= 1000)) throw new ToolUsageError('Error: --random-filter chance must be between 0.1-100.0')
      c.randomFilter = value
    }
  },
  '--will-topic': {
    what: 'will topic',
    read: (c, v) => {
      if (topicNameProblem(v) !== undefined) throw new ToolUsageError(`Error: Invalid will topic '${v}', does it contain '+' or '#'?`)
      c.willTopic = v
    }
  },
  '--will-payload': { what: 'will payload', read: (c, v) => { c.willPayload = v } },
  '--will-qos': { what: 'will QoS', read: (c, v) => { c.willQos = qosOf(v, (text) => `Error: Invalid will QoS ${text}.`) } },
  '--cafile': { what: 'file', read: (c, v) => { c.tls.cafile = v } },
  '--capath': { what: 'directory', read: (c, v) => { c.tls.capath = v } },
  '--cert': { what: 'file', read: (c, v) => { c.tls.certfile = v } },
  '--key': { what: 'file', read: (c, v) => { c.tls.keyfile = v } },
  '--ciphers': { what: 'ciphers', read: (c, v) => { c.tls.ciphers = v } },
  '--tls-alpn': { what: 'protocol', read: (c, v) => { c.tls.alpn = v } },
  '--tls-version': {
    what: 'version',
    read: (c, v) => {
      if (v !== 'tlsv1.1' && v !== 'tlsv1.2' && v !== 'tlsv1.3') throw new ToolUsageError('Error: Problem setting TLS options, check the options are valid.')
      c.tls.version = v
    }
  },
  '--psk': {
    what: 'key',
    read: (c, v) => {
      if (!/^(?:[0-9a-fA-F]{2})+$/.test(v)) throw new ToolUsageError('Error: Problem setting TLS-PSK options.')
      c.tls.psk = v
    }
  },
  '--psk-identity': { what: 'identity', read: (c, v) => { c.tls.pskIdentity = v } }
}

export const SWITCHES: Record<string, (config: ToolConfig) => void> = {
  '-c': (c) => { c.cleanSession = false },
  '-d': (c) => { c.debug = true },
  '-E': (c) => { c.exitAfterSubscribe = true },
  '-l': (c) => setMessageMode(c, 'stdin-line'),
  '-n': (c) => setMessageMode(c, 'null'),
  '-N': (c) => { c.eol = false },
  '-r': (c) => { c.retain = true },
  '-R': (c) => { c.noRetain = true },
  '-s': (c) => setMessageMode(c, 'stdin-file'),
  '-v': (c) => { c.verbose = true },
  '--insecure': (c) => { c.tls.insecure = true },
  '--pretty': (c) => { c.pretty = true },
  '--quiet': (c) => { c.quiet = true },
  '--remove-retained': (c) => { c.removeRetained = true },
  '--retain-as-published': (c) => { c.retainAsPublished = true },
  '--retained-only': (c) => { c.retainedOnly = true },
  '--tls-use-os-certs': (c) => { c.tls.useOsCerts = true },
  '--will-retain': (c) => { c.willRetain = true }
}

/** Long spellings Mosquitto accepts for short flags. */
export const ALIASES: Record<string, string> = {
  '--host': '-h', '--port': '-p', '--url': '-L', '--topic': '-t', '--message': '-m', '--file': '-f', '--qos': '-q',
  '--id': '-i', '--id-prefix': '-I', '--username': '-u', '--pw': '-P', '--keepalive': '-k', '--protocol-version': '-V',
  '--filter-out': '-T', '--unsubscribe': '-U', '--disable-clean-session': '-c', '--debug': '-d', '--stdin-line': '-l',
  '--null-message': '-n', '--retain': '-r', '--stdin-file': '-s', '--verbose': '-v', '--property': '-D'
}
