// Reading the values of mosquitto.conf lines. Mosquitto itself is lenient (atoi turns "abc" into
// 0); Roost is strict, so a typo stops the broker instead of quietly meaning something else.
import { ConfigError } from '../errors'
import type { ConfLine } from './lines'

/** The one value a word takes; more or fewer words is an error naming the line. */
export function singleValue (line: ConfLine): string {
  const [value, extra] = line.values
  if (value === undefined) throw new ConfigError(`'${line.word}' needs a value`, line.source)
  if (extra !== undefined) {
    throw new ConfigError(`'${line.word}' takes one value, but '${line.values.join(' ')}' has more (comments must be on their own line)`, line.source)
  }
  return value
}

/** Everything after the word, spaces included: file and directory names. */
export function restOfLine (line: ConfLine): string {
  if (line.rest === '') throw new ConfigError(`'${line.word}' needs a value`, line.source)
  return line.rest
}

export function parseInteger (line: ConfLine, text: string = singleValue(line)): number {
  if (!/^[+-]?\d+$/.test(text)) throw new ConfigError(`'${line.word}' needs a whole number, not '${text}'`, line.source)
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw new ConfigError(`'${line.word}' value '${text}' is too large`, line.source)
  return value
}

/** Mosquitto's booleans: true/false, and 1/0 which its parser also takes. */
export function parseBoolean (line: ConfLine): boolean {
  const text = singleValue(line)
  if (text === 'true' || text === '1') return true
  if (text === 'false' || text === '0') return false
  throw new ConfigError(`'${line.word}' must be true or false, not '${text}'`, line.source)
}

const SECONDS_PER_UNIT: Record<string, number> = {
  s: 1,
  h: 3600,
  d: 86_400,
  w: 7 * 86_400,
  // Mosquitto counts a month as 30 days and a year as 365.
  m: 30 * 86_400,
  y: 365 * 86_400
}

/** A Mosquitto duration such as `2h`, `14d`, `1y`: a positive whole number and a unit. */
export function parseDurationSec (line: ConfLine): number {
  const text = singleValue(line)
  const match = /^(\d+)([shdwmy])$/.exec(text)
  const unit = match?.[2]
  const count = Number(match?.[1])
  if (match === null || unit === undefined || !(count > 0)) {
    throw new ConfigError(`'${line.word}' needs a duration such as 12h, 14d, 2w, 1m or 1y (s, h, d, w, m = 30 days, y = 365 days), not '${text}'`, line.source)
  }
  return count * (SECONDS_PER_UNIT[unit] as number)
}
