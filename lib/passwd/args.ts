// The arguments of `roost passwd`: mosquitto_passwd's flags, combinations and argument counts.
// Options come first; the first word that is not an option is the password file.
import { DEFAULT_PBKDF2_ITERATIONS, type PasswordHashName } from '../config/password-file'

export type PasswdAction =
  | { kind: 'create', file: string, username: string, password?: string }
  | { kind: 'set', file: string, username: string, password?: string }
  | { kind: 'delete', file: string, username: string }
  | { kind: 'upgrade', file: string }

export interface PasswdCommand {
  action: PasswdAction
  /** -H: the hash new passwords get. */
  hash: PasswordHashName
  /** -I: PBKDF2 iterations for sha512-pbkdf2. */
  iterations: number
}

/** A bad command line: exit code 1, as mosquitto_passwd; `showUsage` adds the usage text. */
export class PasswdUsageError extends Error {
  constructor (message: string, readonly showUsage = false) {
    super(message)
    this.name = 'PasswdUsageError'
  }
}

/** The short usage a bad command line gets. */
export const PASSWD_SYNOPSIS = `Usage: roost passwd [-H sha512-pbkdf2 | -H sha512] [-I iterations] [-c | -D] passwordfile username
       roost passwd [-H sha512-pbkdf2 | -H sha512] [-I iterations] [-c] -b passwordfile username password
       roost passwd [-H sha512-pbkdf2 | -H sha512] [-I iterations] -U passwordfile
       roost passwd --help`

export const PASSWD_USAGE = `${PASSWD_SYNOPSIS}

Manages a Mosquitto password file (password_file), as mosquitto_passwd does: the
files work with Mosquitto 2 and with Roost.

 -b  batch mode: the password is the last argument (it shows in the process list
     and the shell history: prefer the prompt)
 -c  create the file, replacing any file of that name, with this one user
 -D  delete the user
 -H  the hash for new passwords: sha512-pbkdf2 (the default, as in Mosquitto 2)
     or sha512 (for Mosquitto 1.6 and earlier)
 -I  PBKDF2 iterations for sha512-pbkdf2 (default ${DEFAULT_PBKDF2_ITERATIONS})
 -U  replace every plain-text password in the file with a hash; lines that
     already hold a hash are kept as they are

Without -b the password is asked for twice; on a terminal it is not shown, and
otherwise each answer is the next line of standard input. The file is replaced
in one step, keeping its permissions; a new file is readable by its owner only.

Exit codes: 0 done, 1 error (bad arguments, unreadable or malformed file, user
not found), 2 the two passwords typed differ.`

const MAX_STRING_BYTES = 65535
// Node's PBKDF2 takes at most 2^31 - 1 iterations.
const MAX_ITERATIONS = 2147483647

function optionValue (argv: readonly string[], index: number, flag: string): string {
  const value = argv[index + 1]
  if (value === undefined) throw new PasswdUsageError(`${flag} needs a value`)
  return value
}

function parseHash (text: string): PasswordHashName {
  if (text === 'sha512-pbkdf2' || text === 'sha512') return text
  throw new PasswdUsageError(`unknown hash type '${text}': expected sha512-pbkdf2 or sha512`)
}

function parseIterations (text: string): number {
  const iterations = /^\d+$/.test(text) ? Number(text) : NaN
  if (!(iterations >= 1 && iterations <= MAX_ITERATIONS)) throw new PasswdUsageError(`-I needs a whole number of iterations from 1 to ${MAX_ITERATIONS}, not '${text}'`)
  return iterations
}

/** mosquitto_passwd's rules for usernames, and no blanks at the ends (the file could not keep them). */
export function usernameProblem (username: string): string | undefined {
  if (username === '') return 'the username is empty'
  if (Buffer.byteLength(username) > MAX_STRING_BYTES) return `the username is longer than ${MAX_STRING_BYTES} bytes`
  if (username.includes(':')) return "a username must not contain ':'"
  if (/[\u0000-\u001f\u007f]/.test(username)) return 'a username must not contain control characters'
  if (username.trim() !== username) return 'a username must not start or end with a blank'
  return undefined
}

export function passwordProblem (password: string): string | undefined {
  return Buffer.byteLength(password) > MAX_STRING_BYTES ? `the password is longer than ${MAX_STRING_BYTES} bytes` : undefined
}

interface Flags { batch: boolean, create: boolean, remove: boolean, upgrade: boolean, hash: PasswordHashName, iterations: number }

/** Reads the flags; returns them and the words from the first one that is not a flag. */
function parseFlags (argv: readonly string[]): { flags: Flags, rest: string[] } {
  const flags: Flags = { batch: false, create: false, remove: false, upgrade: false, hash: 'sha512-pbkdf2', iterations: DEFAULT_PBKDF2_ITERATIONS }
  let i = 0
  for (; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '-H') flags.hash = parseHash(optionValue(argv, i++, arg))
    else if (arg === '-I') flags.iterations = parseIterations(optionValue(argv, i++, arg))
    else if (arg === '-b') flags.batch = true
    else if (arg === '-c') flags.create = true
    else if (arg === '-D') flags.remove = true
    else if (arg === '-U') flags.upgrade = true
    // mosquitto_passwd would take an unknown flag for the file name; a typo must not create a file.
    else if (arg.startsWith('-') && arg !== '-') throw new PasswdUsageError(`unknown option '${arg}'`, true)
    else break
  }
  const pairs: Array<[boolean, boolean, string]> = [
    [flags.create, flags.remove, '-c and -D'],
    [flags.create, flags.upgrade, '-c and -U'],
    [flags.remove, flags.upgrade, '-D and -U'],
    [flags.remove, flags.batch, '-b and -D']
  ]
  for (const [one, other, names] of pairs) if (one && other) throw new PasswdUsageError(`${names} cannot be used together`)
  return { flags, rest: argv.slice(i) }
}

function expectWords (rest: string[], count: number, names: string): void {
  if (rest.length !== count) throw new PasswdUsageError(`expected ${names}, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`, true)
}

/** Parses `roost passwd` arguments (without the word `passwd`); throws PasswdUsageError. */
export function parsePasswdArgs (argv: readonly string[]): PasswdCommand | 'help' {
  if (argv.includes('--help')) return 'help'
  if (argv.length === 0) throw new PasswdUsageError('no password file given', true)
  const { flags, rest } = parseFlags(argv)
  let action: PasswdAction
  if (flags.upgrade) {
    expectWords(rest, 1, 'passwordfile')
    action = { kind: 'upgrade', file: rest[0] as string }
  } else if (flags.remove) {
    expectWords(rest, 2, 'passwordfile username')
    action = { kind: 'delete', file: rest[0] as string, username: rest[1] as string }
  } else {
    expectWords(rest, flags.batch ? 3 : 2, flags.batch ? 'passwordfile username password' : 'passwordfile username')
    const password = rest[2]
    const problem = password === undefined ? undefined : passwordProblem(password)
    if (problem !== undefined) throw new PasswdUsageError(problem)
    action = { kind: flags.create ? 'create' : 'set', file: rest[0] as string, username: rest[1] as string, password }
  }
  if ('username' in action) {
    const problem = usernameProblem(action.username)
    if (problem !== undefined) throw new PasswdUsageError(problem)
  }
  return { action, hash: flags.hash, iterations: flags.iterations }
}
