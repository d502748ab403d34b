// Mosquitto's logging words: `log_type` picks which kinds of lines are written (a set, one line per
// type, not a threshold), `log_dest` where they go (stdout, stderr, files), `log_timestamp` and
// `log_timestamp_format` how each line starts. Lines read `<unix time>: <text>` by default, as
// Mosquitto's do.
import { ConfigError } from '../errors'
import type { Logger, LogLevel } from '../logger'
import type { ConfLine } from './lines'
import type { LogFile } from './log-file'
import { compileTimeFormat } from './strftime'
import { restOfLine } from './values'

export type LogDestination = 'stdout' | 'stderr'

/** A `log_dest file <path>` line. */
export interface LogFileDestination {
  path: string
  /** `file:line` of the log_dest line, for an error when the file cannot be opened. */
  source: string
}

export interface LogSettings {
  types: Set<LogLevel>
  destinations: Set<LogDestination>
  /** `log_dest file` lines: files the log is appended to, reopened on SIGHUP. */
  files: LogFileDestination[]
  /** `log_timestamp`: start each line with the time. */
  timestamp: boolean
  /** `log_timestamp_format`: a strftime() format for that time; unix seconds when unset. */
  timestampFormat?: string
}

const ALL_TYPES: readonly LogLevel[] = ['debug', 'info', 'notice', 'warning', 'error']

/** Mosquitto's defaults: error, warning, notice and information, to stderr. */
export function defaultLogSettings (): LogSettings {
  return { types: new Set(['error', 'warning', 'notice', 'info']), destinations: new Set(['stderr']), files: [], timestamp: true }
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

/** Adds one `log_dest` line's destination (`none` removes every destination, files too). */
export function addLogDestination (destinations: Set<LogDestination>, files: LogFileDestination[], line: ConfLine, value: string): void {
  switch (value) {
    case 'stdout': case 'stderr':
      destinations.add(value); return
    case 'none':
      destinations.clear()
      files.length = 0
      return
    case 'file':
      addLogFile(files, line); return
    case 'syslog': case 'topic': case 'dlt':
      throw new ConfigError(`'log_dest ${value}' is not supported yet: use stdout, stderr or file`, line.source)
    default:
      throw new ConfigError(`unknown log_dest '${value}': use stdout, stderr, file <path> or none`, line.source)
  }
}

/** `log_dest file <path>`: the path is the rest of the line, spaces included, as Mosquitto reads it. */
function addLogFile (files: LogFileDestination[], line: ConfLine): void {
  const path = line.rest.slice('file'.length).trim()
  if (path === '') throw new ConfigError("'log_dest file' needs a file name: log_dest file <path>", line.source)
  // Mosquitto refuses a second file; writing to each costs nothing, so Roost takes them all.
  if (!files.some((file) => file.path === path)) files.push({ path, source: line.source })
}

/** `log_timestamp_format`: checked now, so a conversion Roost cannot write stops at its line. */
export function readTimestampFormat (line: ConfLine): string {
  const format = restOfLine(line)
  try {
    compileTimeFormat(format)
  } catch (error) {
    throw new ConfigError(`'log_timestamp_format ${format}': ${(error as Error).message}`, line.source)
  }
  return format
}

export interface LogStreams {
  stdout: (line: string) => void
  stderr: (line: string) => void
}

const PROCESS_STREAMS: LogStreams = {
  stdout: (line) => { process.stdout.write(line) },
  stderr: (line) => { process.stderr.write(line) }
}

function timestamper (settings: LogSettings): (text: string) => string {
  if (!settings.timestamp) return (text) => `${text}\n`
  if (settings.timestampFormat === undefined) return (text) => `${Math.floor(Date.now() / 1000)}: ${text}\n`
  const format = compileTimeFormat(settings.timestampFormat)
  return (text) => `${format(new Date())}: ${text}\n`
}

/** A logger writing the chosen types to the chosen streams and to the files already opened for `settings.files`. */
export function createSettingsLogger (settings: LogSettings, streams: LogStreams = PROCESS_STREAMS, files: readonly LogFile[] = []): Logger {
  // Files first: a line shown on a terminal (or read by a supervisor from a pipe) is already on disk.
  const writers: Array<(line: string) => void> = files.map((file) => (line: string) => { file.write(line) })
  for (const destination of settings.destinations) writers.push(streams[destination])
  const stamp = timestamper(settings)
  const make = (level: LogLevel) => (text: string): void => {
    if (!settings.types.has(level)) return
    const line = stamp(text)
    for (const write of writers) write(line)
  }
  return { debug: make('debug'), info: make('info'), notice: make('notice'), warning: make('warning'), error: make('error') }
}
