// Mosquitto's logging words: `log_type` picks which kinds of lines are written (a set, one line per
// type, not a threshold) and `log_dest` where they go. Lines read `<unix time>: <text>` as
// Mosquitto's do.
import { ConfigError } from '../errors'
import type { Logger, LogLevel } from '../logger'
import type { ConfLine } from './lines'

export type LogDestination = 'stdout' | 'stderr'

export interface LogSettings {
  types: Set<LogLevel>
  destinations: Set<LogDestination>
}

const ALL_TYPES: readonly LogLevel[] = ['debug', 'info', 'notice', 'warning', 'error']

/** Mosquitto's defaults: error, warning, notice and information, to stderr. */
export function defaultLogSettings (): LogSettings {
  return { types: new Set(['error', 'warning', 'notice', 'info']), destinations: new Set(['stderr']) }
}

/** Everything, as `-v` asks for; it overrides `log_type` in the file, as in Mosquitto. */
export function allLogTypes (): Set<LogLevel> {
  return new Set(ALL_TYPES)
}

/** Adds one `log_type` line's type to the set (`none` empties it, `all` fills it). */
export function addLogType (types: Set<LogLevel>, line: ConfLine, value: string): void {
  switch (value) {
    case 'debug': case 'error': case 'warning': case 'notice':
      types.add(value); return
    case 'information':
      types.add('info'); return
    case 'all':
      for (const type of ALL_TYPES) types.add(type)
      return
    case 'none':
      types.clear(); return
    case 'subscribe': case 'unsubscribe': case 'websockets':
      throw new ConfigError(`'log_type ${value}' is not supported yet`, line.source)
    default:
      throw new ConfigError(`unknown log_type '${value}': use debug, error, warning, notice, information, all or none`, line.source)
  }
}

/** Adds one `log_dest` line's destination (`none` empties the set). */
export function addLogDestination (destinations: Set<LogDestination>, line: ConfLine, value: string): void {
  switch (value) {
    case 'stdout': case 'stderr':
      destinations.add(value); return
    case 'none':
      destinations.clear(); return
    case 'file': case 'syslog': case 'topic': case 'dlt':
      throw new ConfigError(`'log_dest ${value}' is not supported yet: use stdout or stderr and redirect it`, line.source)
    default:
      throw new ConfigError(`unknown log_dest '${value}': use stdout, stderr or none`, line.source)
  }
}

export interface LogStreams {
  stdout: (line: string) => void
  stderr: (line: string) => void
}

const PROCESS_STREAMS: LogStreams = {
  stdout: (line) => { process.stdout.write(line) },
  stderr: (line) => { process.stderr.write(line) }
}

export function createSettingsLogger (settings: LogSettings, streams: LogStreams = PROCESS_STREAMS): Logger {
  const writers = [...settings.destinations].map((destination) => streams[destination])
  const make = (level: LogLevel) => (text: string): void => {
    if (!settings.types.has(level)) return
    const line = `${Math.floor(Date.now() / 1000)}: ${text}\n`
    for (const write of writers) write(line)
  }
  return { debug: make('debug'), info: make('info'), notice: make('notice'), warning: make('warning'), error: make('error') }
}
