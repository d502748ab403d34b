// `roost passwd`: creates and edits Mosquitto password files, with mosquitto_passwd's flags,
// prompts and exit codes. The file is replaced in one step (a new file beside it, then a rename),
// so a broker reloading it never reads half a file, and nothing changes when anything fails.
import { randomBytes } from 'node:crypto'
import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, type Stats } from 'node:fs'
import { describeFsError } from '../config/lines'
import { formatSecret, hashPassword, parsePasswordText } from '../config/password-file'
import { ConfigError } from '../errors'
import { PASSWD_SYNOPSIS, PASSWD_USAGE, parsePasswdArgs, passwordProblem, PasswdUsageError, type PasswdCommand } from './args'
import { deleteUser, hashPlainPasswords, setUser } from './edit'
import { PasswordReader, PromptInterrupted } from './prompt'

export const PASSWD_EXIT_OK = 0
export const PASSWD_EXIT_ERROR = 1
/** The two typed passwords differ (mosquitto_passwd's code for it). */
export const PASSWD_EXIT_MISMATCH = 2

/** A failure with its exit code; the message goes to stderr. */
class PasswdFailure extends Error {
  constructor (message: string, readonly exitCode = PASSWD_EXIT_ERROR) {
    super(message)
    this.name = 'PasswdFailure'
  }
}

/** Where the command reads and writes; the process's own streams outside tests. */
export interface PasswdStreams {
  stdin: NodeJS.ReadStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/** Symbolic links are followed, as mosquitto_passwd does, so the link stays a link. */
function targetOf (file: string): string {
  try {
    return realpathSync(file)
  } catch {
    return file
  }
}

function readPasswordFileText (file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new PasswdFailure(`cannot read password file '${file}': ${describeFsError(error)}`)
  }
  // The broker's own reader: a file it would refuse is not rewritten.
  parsePasswordText(text, file)
  return text
}

function statOrUndefined (file: string): Stats | undefined {
  try {
    return statSync(file)
  } catch {
    return undefined
  }
}

/**
 * Replaces a file's content in one step, keeping its permissions and owner; a new file is
 * readable by its owner only (Mosquitto 2 warns about password files others can read).
 */
function replaceFile (file: string, text: string): void {
  try {
    writeReplacement(file, text)
  } catch (error) {
    throw new PasswdFailure(`cannot write password file '${file}': ${describeFsError(error)}`)
  }
}

function writeReplacement (file: string, text: string): void {
  const old = statOrUndefined(file)
  const mode = old === undefined ? 0o600 : old.mode & 0o7777
  const uid = process.getuid?.()
  // Someone else's file we may write but not chown: write it in place, so it stays theirs.
  if (old !== undefined && uid !== undefined && uid !== 0 && old.uid !== uid) {
    writeFileSync(file, text)
    return
  }
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(temp, 'wx', mode)
  try {
    writeSync(fd, text)
    fchmodSync(fd, mode)
    if (old !== undefined && uid === 0) fchownSync(fd, old.uid, old.gid)
    fsyncSync(fd)
    closeSync(fd)
    renameSync(temp, file)
  } catch (error) {
    try { closeSync(fd) } catch { /* closed already */ }
    try { unlinkSync(temp) } catch { /* never created or already renamed */ }
    throw error
  }
}

async function askPassword (streams: PasswdStreams): Promise<string> {
  const reader = new PasswordReader(streams.stdin, streams.stdout)
  try {
    return await askTwice(reader)
  } finally {
    reader.close()
  }
}

async function askTwice (reader: PasswordReader): Promise<string> {
  const first = await reader.read('Password: ')
  if (first === undefined || first === '') throw new PasswdFailure('empty password')
  const again = await reader.read('Reenter password: ')
  if (again === undefined || again === '') throw new PasswdFailure('empty password')
  if (first !== again) throw new PasswdFailure('passwords do not match', PASSWD_EXIT_MISMATCH)
  const problem = passwordProblem(first)
  if (problem !== undefined) throw new PasswdFailure(problem)
  return first
}

async function secretFor (command: PasswdCommand, password: string): Promise<string> {
  return formatSecret(await hashPassword(Buffer.from(password, 'utf8'), command.hash, command.iterations))
}

async function perform (command: PasswdCommand, streams: PasswdStreams): Promise<void> {
  const { action } = command
  const file = targetOf(action.file)
  const password = async (given: string | undefined): Promise<string> => given ?? await askPassword(streams)
  switch (action.kind) {
    case 'create': {
      const secret = await secretFor(command, await password(action.password))
      replaceFile(file, `${action.username}:${secret}\n`)
      return
    }
    case 'set': {
      const text = readPasswordFileText(file)
      const secret = await secretFor(command, await password(action.password))
      replaceFile(file, setUser(text, file, action.username, secret))
      return
    }
    case 'delete': {
      const kept = deleteUser(readPasswordFileText(file), file, action.username)
      if (kept === undefined) throw new PasswdFailure(`user '${action.username}' is not in '${file}'`)
      replaceFile(file, kept)
      return
    }
    case 'upgrade': {
      const hashed = await hashPlainPasswords(readPasswordFileText(file), file, async (plain) => await secretFor(command, plain.toString('utf8')))
      replaceFile(file, hashed.text)
    }
  }
}

/** Runs `roost passwd <argv>` and resolves with its exit code. */
export async function runPasswd (argv: readonly string[], streams: PasswdStreams): Promise<number> {
  const fail = (message: string, code: number): number => {
    streams.stderr.write(`roost passwd: ${message}\n`)
    return code
  }
  try {
    const command = parsePasswdArgs(argv)
    if (command === 'help') {
      streams.stdout.write(PASSWD_USAGE + '\n')
      return PASSWD_EXIT_OK
    }
    await perform(command, streams)
    return PASSWD_EXIT_OK
  } catch (error) {
    if (error instanceof PasswdUsageError) return fail(error.showUsage ? `${error.message}\n${PASSWD_SYNOPSIS}` : error.message, PASSWD_EXIT_ERROR)
    if (error instanceof PasswdFailure) return fail(error.message, error.exitCode)
    if (error instanceof PromptInterrupted) return fail('interrupted; nothing was written', PASSWD_EXIT_ERROR)
    if (error instanceof ConfigError) return fail(error.message, PASSWD_EXIT_ERROR)
    throw error
  }
}

/** Entry point of `roost passwd`: sets the process's exit code. */
export function passwdMain (argv: readonly string[]): void {
  runPasswd(argv, process).then((code) => { process.exitCode = code }, (error: unknown) => {
    process.stderr.write(`roost passwd: unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exitCode = PASSWD_EXIT_ERROR
  })
}
