// The engine logs through an injected logger so that Node-RED, the roost command and tests each
// decide where lines go. Levels follow Mosquitto's log types.

export interface Logger {
  debug (line: string): void
  info (line: string): void
  notice (line: string): void
  warning (line: string): void
  error (line: string): void
}

export type LogLevel = keyof Logger

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4 }

function noop (): void {}

/** A logger that writes nothing: the default for embedded use and tests. */
export const silentLogger: Logger = { debug: noop, info: noop, notice: noop, warning: noop, error: noop }

/** Writes `<unix time>: <line>` as Mosquitto does, from `minLevel` up. */
export function consoleLogger (minLevel: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  const make = (level: LogLevel) => LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]
    ? noop
    : (line: string) => write(`${Math.floor(Date.now() / 1000)}: ${line}`)
  return { debug: make('debug'), info: make('info'), notice: make('notice'), warning: make('warning'), error: make('error') }
}
