// What the three tools share around their work: reading the command line (usage errors and
// --help as Mosquitto's tools print them), the -W timer, SIGINT/SIGTERM, and ending the client
// with a DISCONNECT that carries -D disconnect properties.
import type { MqttClient } from '../client'
import { version } from '../../package.json'
import { parseToolArgs, type ToolConfig, type ToolName } from './args'
import { disconnectOptions, type ToolOutput, type ToolStreams } from './connect'
import { EXIT_TIMEOUT, EXIT_USAGE, ToolFailure, ToolUsageError } from './errors'
import { USAGE } from './usage'

/** MQTT 5 DISCONNECT reason 0x04: the server publishes the will, as Mosquitto's tools ask on a signal or timeout. */
const DISCONNECT_WITH_WILL = 0x04

/** Runs a tool's work with its config; resolves with the exit code. */
export type ToolWork = (config: ToolConfig, streams: ToolStreams) => Promise<number>

/** Reads the command line, runs the work, and turns every failure into a message and an exit code. */
export async function runTool (tool: ToolName, argv: readonly string[], streams: ToolStreams, work: ToolWork): Promise<number> {
  let parsed
  try {
    parsed = parseToolArgs(tool, argv)
  } catch (error) {
    if (!(error instanceof ToolUsageError)) throw error
    streams.stderr.write(`${error.message}\n\nUse 'roost ${tool} --help' to see usage.\n`)
    return EXIT_USAGE
  }
  // mosquitto_pub/sub/rr print their help and version and exit with 1, and so do these.
  if (parsed === 'help') {
    streams.stdout.write(USAGE[tool])
    return EXIT_USAGE
  }
  if (parsed === 'version') {
    streams.stdout.write(`roost ${tool} version ${version}\n`)
    return EXIT_USAGE
  }
  const config = parsed
  try {
    return await work(config, streams)
  } catch (error) {
    if (!(error instanceof ToolFailure)) throw error
    if (!config.quiet) streams.stderr.write(`${error.message}\n`)
    return error.exitCode
  }
}

/**
 * The end of a tool's run: a -W timer, SIGINT and SIGTERM all end the client (MQTT 5: with
 * "disconnect with will"), and `finish(code)` ends it normally. Resolves with the exit code.
 */
export class Ending {
  private readonly done: Promise<number>
  private resolveDone: (code: number) => void = () => {}
  private timer: NodeJS.Timeout | undefined
  private finished = false
  private readonly onSignal = (): void => { this.finish(0, DISCONNECT_WITH_WILL) }

  constructor (private readonly client: MqttClient, private readonly config: ToolConfig, private readonly output: ToolOutput) {
    this.done = new Promise((resolve) => { this.resolveDone = resolve })
    if (config.timeoutSec > 0) {
      this.timer = setTimeout(() => {
        this.output.error('Timed out')
        this.finish(EXIT_TIMEOUT, DISCONNECT_WITH_WILL)
      }, config.timeoutSec * 1000)
    }
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  get ended (): boolean { return this.finished }

  /** Sends DISCONNECT (unless `force`), closes the client and resolves the run with `code`. */
  finish (code: number, reasonCode = 0, force = false): void {
    if (this.finished) return
    this.finished = true
    clearTimeout(this.timer)
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    if (!force) this.output.debug(this.client, 'sending DISCONNECT')
    const reason = this.config.protocolVersion === 5 ? reasonCode : 0
    this.client.end(force, disconnectOptions(this.config, reason)).then(() => this.resolveDone(code), () => this.resolveDone(code))
  }

  wait (): Promise<number> { return this.done }
}

/** Writes bytes to stdout; a closed stdout (a pipe whose reader left) ends the run as mosquitto_sub does. */
export function writeOut (streams: ToolStreams, bytes: Buffer, ending: Ending): void {
  if (bytes.length === 0) return
  try {
    streams.stdout.write(bytes)
  } catch {
    ending.finish(0)
  }
}
