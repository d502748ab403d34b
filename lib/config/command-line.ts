// The roost command's arguments. Mosquitto's own words where they exist (-c, -p, -v); -h is the
// bind address here, because the command has a bind address and help is --help.

export interface CommandLine {
  /** -p: ports to listen on; may be given more than once, as Mosquitto allows. */
  ports: number[]
  /** -h: address to bind the command-line listeners to. */
  host?: string
  /** -c: a file in mosquitto.conf syntax. */
  configFile?: string
  /** -v: log everything, whatever the file says. */
  verbose: boolean
  help: boolean
  version: boolean
}

/** A bad command line: the command prints the message and the usage, and exits with code 2. */
export class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export const EXIT_OK = 0
/** The broker could not start or stopped on an error (port in use, pid file not writable). */
export const EXIT_RUNTIME_ERROR = 1
export const EXIT_USAGE_ERROR = 2
/** The configuration file is wrong; the message names file:line. */
export const EXIT_CONFIG_ERROR = 3

export const USAGE = `Usage: roost [-c config_file] [-p port]... [-h bind_address] [-v]
       roost --help | --version

Runs the Roost MQTT broker in the foreground until SIGINT or SIGTERM.

 -c, --config-file FILE  read a file in mosquitto.conf syntax
 -p, --port PORT         listen on this TCP port (may be repeated); replaces the
                         listeners of the config file
 -h, --host ADDRESS      bind the -p listeners to this address
 -v, --verbose           log everything (all log types), whatever the file says
     --help              show this help
     --version           show the version

Without a config file that defines a listener, and without -h, Roost does what
Mosquitto 2 does: it listens on 127.0.0.1 only (port 1883 unless -p says
otherwise) and allows anonymous clients. To accept remote clients, give
-h 0.0.0.0 or a config file with a listener; a config file with a listener
refuses anonymous clients unless it says 'allow_anonymous true'.

Logs go to stderr as '<unix time>: <line>' (error, warning, notice and
information by default; log_type, log_dest (stdout, stderr, file <path>),
log_timestamp and log_timestamp_format in the config file change this).

Exit codes: 0 stopped cleanly, 1 could not start (port in use, ...),
2 bad command line, 3 bad configuration file (the message names file:line).
SIGINT or SIGTERM closes every connection and exits with 0; a second signal
exits at once with 1. SIGHUP reopens the log files (for logrotate); it does not
reload the configuration.`

function takeValue (argv: string[], index: number, flag: string): string {
  const value = argv[index + 1]
  if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`)
  return value
}

function parsePort (text: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN
  // Port 0 asks the system for a free port: no use to a client that must find the broker,
  // but handy for tests, and Node reports the port it picked in the log.
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`invalid port '${text}': expected 0 to 65535`)
  return port
}

export function parseCommandLine (argv: readonly string[]): CommandLine {
  const args = [...argv]
  const result: CommandLine = { ports: [], verbose: false, help: false, version: false }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    switch (arg) {
      case '-p': case '--port':
        result.ports.push(parsePort(takeValue(args, i++, arg)))
        break
      case '-h': case '--host':
        if (result.host !== undefined) throw new UsageError(`${arg} may be given once`)
        result.host = takeValue(args, i++, arg)
        break
      case '-c': case '--config-file':
        if (result.configFile !== undefined) throw new UsageError(`${arg} may be given once`)
        result.configFile = takeValue(args, i++, arg)
        break
      case '-v': case '--verbose':
        result.verbose = true
        break
      case '--help':
        result.help = true
        break
      case '--version':
        result.version = true
        break
      default:
        throw new UsageError(`unknown option '${arg}'`)
    }
  }
  return result
}
