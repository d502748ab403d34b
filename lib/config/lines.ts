// Splits a mosquitto.conf file into lines of words, keeping where each came from so that every
// error can name `file:line`.
import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors'

export interface ConfLine {
  /** The configuration word: `listener`, `max_connections`, ... */
  word: string
  /** The words after it, split on spaces and tabs. */
  values: string[]
  /** Everything after the word, trimmed: for values that may contain spaces (paths). */
  rest: string
  /** `file:line`, for error messages. */
  source: string
}

export function readConfFile (file: string): ConfLine[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read configuration file: ${describeFsError(error)}`, file)
  }
  return splitConfText(text, file)
}

export function splitConfText (text: string, file: string): ConfLine[] {
  const lines: ConfLine[] = []
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim()
    // Mosquitto's comments are whole lines starting with '#'; a '#' later on is part of a value.
    if (trimmed === '' || trimmed.startsWith('#')) return
    const match = /^(\S+)\s*(.*)$/.exec(trimmed) as RegExpExecArray
    const rest = match[2] ?? ''
    lines.push({
      word: match[1] as string,
      values: rest === '' ? [] : rest.split(/[ \t]+/),
      rest,
      source: `${file}:${index + 1}`
    })
  })
  return lines
}

/**
 * Reads a file that a configuration line names (`password_file`, `acl_file`, a certificate); a
 * failure is a ConfigError at that line (when there is one), worded as "cannot read <word>
 * '<file>': <reason>".
 */
export function readNamedFile (word: string, file: string, mentionedAt?: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read ${word} '${file}': ${describeFsError(error)}`, mentionedAt)
  }
}

/** "no such file or directory" rather than a stack of errno details. */
export function describeFsError (error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOENT') return 'no such file or directory'
  if (code === 'EACCES') return 'permission denied'
  if (code === 'EISDIR') return 'is a directory'
  if (code === 'ENOTDIR') return 'not a directory'
  return error instanceof Error ? error.message : String(error)
}
