// Combines the command line and the config file into what the roost command starts: broker
// options (password_file and acl_file among them), logging and the pid file.
import type { BrokerOptions, ListenerOptions } from '../options'
import type { CommandLine } from './command-line'
import { allLogTypes, defaultLogSettings, type LogSettings } from './logging'
import { type MosquittoConf, readMosquittoConf } from './mosquitto-conf'

export const DEFAULT_PORT = 1883
export const LOCAL_ONLY_HOST = '127.0.0.1'

export interface RoostSettings {
  options: Partial<BrokerOptions>
  log: LogSettings
  pidFile?: string
  /** No listener came from the file or -h: listening on the loopback address only. */
  localOnly: boolean
  /** The config file read, when there was one. */
  configFile?: string
}

/** Reads the config file (if any) and applies the command line over it. Throws ConfigError. */
export function resolveSettings (commandLine: CommandLine): RoostSettings {
  const conf: MosquittoConf | undefined = commandLine.configFile === undefined ? undefined : readMosquittoConf(commandLine.configFile)
  const options: Partial<BrokerOptions> = { ...conf?.options }
  let localOnly = false
  if (commandLine.ports.length > 0 || commandLine.host !== undefined) {
    // As `mosquitto -p` does, a port from the command line without an address stays on the
    // loopback address unless the file opened the broker up with listeners of its own.
    const host = commandLine.host ?? (conf?.definesListener === true ? undefined : LOCAL_ONLY_HOST)
    localOnly = commandLine.host === undefined && conf?.definesListener !== true
    const ports = commandLine.ports.length > 0 ? commandLine.ports : [DEFAULT_PORT]
    options.listeners = ports.map((port): ListenerOptions => (host === undefined ? { port } : { port, host }))
  } else if (conf?.definesListener !== true) {
    // Mosquitto 2's local-only mode: no listener configured means loopback only.
    localOnly = true
    options.listeners = [{ port: DEFAULT_PORT, host: LOCAL_ONLY_HOST }]
  }
  options.allowAnonymous ??= true
  const log = defaultLogSettings()
  if (conf?.logTypes !== undefined) log.types = conf.logTypes
  if (conf?.logDestinations !== undefined) log.destinations = conf.logDestinations
  if (conf?.logFiles !== undefined) log.files = conf.logFiles
  if (conf?.logTimestamp !== undefined) log.timestamp = conf.logTimestamp
  if (conf?.logTimestampFormat !== undefined) log.timestampFormat = conf.logTimestampFormat
  if (commandLine.verbose) log.types = allLogTypes()
  const settings: RoostSettings = { options, log, localOnly }
  if (conf?.pidFile !== undefined) settings.pidFile = conf.pidFile
  if (commandLine.configFile !== undefined) settings.configFile = commandLine.configFile
  return settings
}
