// The roost command: the broker in the foreground, configured by a mosquitto.conf file and a few
// Mosquitto-style flags. SIGINT and SIGTERM close it cleanly; a second signal ends it at once.
// SIGHUP reopens the log files, as logrotate expects, and reloads what the broker read from files
// (password_file, acl_file, certificates and keys), as Mosquitto does.
import { unlinkSync, writeFileSync } from 'node:fs'
import { Broker } from './broker'
import { parseCommandLine, EXIT_CONFIG_ERROR, EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_USAGE_ERROR, USAGE, UsageError } from './config/command-line'
import { describeFsError } from './config/lines'
import { LogFile } from './config/log-file'
import { createSettingsLogger } from './config/logging'
import { resolveSettings, type RoostSettings } from './config/settings'
import { ConfigError } from './errors'
import type { Logger } from './logger'
import { passwdMain } from './passwd/command'
import { StoreOpenError } from './store/lock'
import { clientToolMain, isClientTool } from './tools/command'
import { version } from '../package.json'

/** One line on stderr, for failures before or instead of the log. */
function fail (message: string, code: number): never {
  process.stderr.write(`roost: ${message}\n`)
  process.exit(code)
}

function describeListenError (error: unknown): string {
  const { code, address, port } = error as NodeJS.ErrnoException & { address?: string, port?: number }
  const where = address !== undefined ? `${address}:${String(port)}` : 'the configured address'
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: address already in use (is another broker running?)`
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such address on this machine`
  if (code === 'ENOTFOUND') return `cannot listen on ${where}: unknown host name`
  if (error instanceof StoreOpenError) return error.message
  return `cannot listen: ${error instanceof Error ? error.message : String(error)}`
}

function writePidFile (file: string): void {
  try {
    writeFileSync(file, `${process.pid}\n`)
  } catch (error) {
    fail(`cannot write pid_file '${file}': ${describeFsError(error)}`, EXIT_RUNTIME_ERROR)
  }
}

function removePidFile (file: string | undefined): void {
  if (file === undefined) return
  try { unlinkSync(file) } catch { /* already gone: nothing to clean up */ }
}

/** Opens every `log_dest file`; one that cannot be opened stops the command, naming its line. */
function openLogFiles (settings: RoostSettings): LogFile[] {
  const files: LogFile[] = []
  const report = (message: string): void => { process.stderr.write(`roost: ${message}\n`) }
  for (const { path, source } of settings.log.files) {
    try {
      files.push(new LogFile(path, report))
    } catch (error) {
      fail(`${source}: cannot open log file '${path}': ${describeFsError(error)}`, EXIT_RUNTIME_ERROR)
    }
  }
  return files
}

/**
 * logrotate moves the log file away and sends SIGHUP: the next lines go to a new file at the
 * configured path. As in Mosquitto, SIGHUP also reloads what can change without a restart
 * (broker.reload(): password_file, acl_file, certificates, keys, CRLs, PSK keys) and says what it
 * did, or why it kept the old ones. Other configuration words need a restart.
 */
function reloadOnHangup (files: readonly LogFile[], logger: Logger, broker: Broker): void {
  process.on('SIGHUP', () => {
    for (const file of files) {
      const error = file.reopen()
      if (error !== undefined) logger.error(`${error}; still writing to the file it had open.`)
    }
    logger.info(`Received SIGHUP${files.length > 0 ? ', log files reopened' : ''}; reloading.`)
    broker.reload().then((reloaded) => {
      if (reloaded.length > 0) logger.notice(`Reloaded ${reloaded.join(', ')}.`)
    }, (error: unknown) => {
      logger.error(`${error instanceof Error ? error.message : String(error)}.`)
    })
  })
}

function logStart (logger: Logger, settings: RoostSettings): void {
  logger.notice(`roost version ${version} starting`)
  logger.notice(settings.configFile !== undefined ? `Config loaded from ${settings.configFile}.` : 'Using default config.')
  if (settings.localOnly) {
    logger.warning('Starting in local only mode. Connections will only be possible from clients running on this machine.')
    logger.warning('Give -h 0.0.0.0 or a configuration file with a listener to allow remote access.')
  }
}

function stopOnSignals (broker: Broker, logger: Logger, pidFile: string | undefined): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      removePidFile(pidFile)
      process.exit(EXIT_RUNTIME_ERROR)
    }
    stopping = true
    logger.notice(`Received ${signal}, closing.`)
    broker.close().then(() => {
      removePidFile(pidFile)
      logger.notice(`roost version ${version} terminating`)
      process.exit(EXIT_OK)
    }, (error: unknown) => {
      removePidFile(pidFile)
      fail(`error while closing: ${error instanceof Error ? error.message : String(error)}`, EXIT_RUNTIME_ERROR)
    })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

async function run (argv: string[]): Promise<void> {
  let settings: RoostSettings
  try {
    const commandLine = parseCommandLine(argv)
    if (commandLine.help) {
      process.stdout.write(USAGE + '\n')
      return
    }
    if (commandLine.version) {
      process.stdout.write(`roost version ${version}\n`)
      return
    }
    settings = resolveSettings(commandLine)
  } catch (error) {
    if (error instanceof UsageError) fail(`${error.message}\n${USAGE}`, EXIT_USAGE_ERROR)
    if (error instanceof ConfigError) fail(error.message, EXIT_CONFIG_ERROR)
    throw error
  }
  const logFiles = openLogFiles(settings)
  const logger = createSettingsLogger(settings.log, undefined, logFiles)
  logStart(logger, settings)
  let broker: Broker
  try {
    broker = new Broker(settings.options, { logger })
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, EXIT_CONFIG_ERROR)
    throw error
  }
  reloadOnHangup(logFiles, logger, broker)
  // Signals are handled from here on, so a Ctrl-C during startup still closes what was opened.
  stopOnSignals(broker, logger, settings.pidFile)
  if (settings.pidFile !== undefined) writePidFile(settings.pidFile)
  try {
    await broker.listen()
  } catch (error) {
    removePidFile(settings.pidFile)
    // A certificate or key that cannot be used is the configuration's fault, named as such.
    if (error instanceof ConfigError) fail(error.message, EXIT_CONFIG_ERROR)
    fail(describeListenError(error), EXIT_RUNTIME_ERROR)
  }
  logger.notice(`roost version ${version} running`)
}

/** Entry point of bin/roost.js: runs until a signal; exits with the codes listed in --help. */
export function main (argv: string[]): void {
  if (argv[0] === 'passwd') {
    passwdMain(argv.slice(1))
    return
  }
  if (isClientTool(argv[0])) {
    clientToolMain(argv[0] as string, argv.slice(1))
    return
  }
  run(argv).catch((error: unknown) => {
    fail(`unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, EXIT_RUNTIME_ERROR)
  })
}
