// The changes `roost passwd` makes to a password file, as text in and text out: every other line
// (comments, blank lines, other users, their line endings) stays exactly as it was. Each line is
// checked with the reader the broker uses, so a file the broker would refuse is refused here too,
// naming file:line, before anything is written.
import { parsePasswordLine, type PasswordEntry } from '../config/password-file'

interface Line {
  /** The line as it was, with its line ending. */
  raw: string
  /** The line ending of `raw`: '\n', '\r\n', or '' for a last line without one. */
  ending: string
  user?: { username: string, entry: PasswordEntry }
}

function splitLines (text: string, file: string): Line[] {
  if (text === '') return []
  return text.split(/(?<=\n)/).map((raw, index) => {
    const ending = raw.endsWith('\r\n') ? '\r\n' : raw.endsWith('\n') ? '\n' : ''
    const user = parsePasswordLine(raw.slice(0, raw.length - ending.length), `${file}:${index + 1}`)
    return user === undefined ? { raw, ending } : { raw, ending, user }
  })
}

function userLine (username: string, secret: string, ending: string): string {
  return `${username}:${secret}${ending}`
}

/** Appends a line, first ending a last line that has no line ending. */
function append (text: string, line: string): string {
  return text === '' || text.endsWith('\n') ? text + line : `${text}\n${line}`
}

/**
 * Sets a user's password: every line of that user gets the new secret, or a line is added at
 * the end when the user is new (mosquitto_passwd's update_pwuser).
 */
export function setUser (text: string, file: string, username: string, secret: string): string {
  let found = false
  const lines = splitLines(text, file).map((line) => {
    if (line.user?.username !== username) return line.raw
    found = true
    return userLine(username, secret, line.ending)
  })
  return found ? lines.join('') : append(text, userLine(username, secret, '\n'))
}

/** Removes every line of a user; undefined when the file has no such user. */
export function deleteUser (text: string, file: string, username: string): string | undefined {
  const lines = splitLines(text, file)
  const kept = lines.filter((line) => line.user?.username !== username)
  return kept.length === lines.length ? undefined : kept.map((line) => line.raw).join('')
}

/**
 * Replaces every plain-text password with a hash (mosquitto_passwd -U). Unlike mosquitto_passwd,
 * lines that already hold a $6$ or $7$ hash are kept as they are, so running it twice does not
 * hash a hash and lock those users out.
 */
export async function hashPlainPasswords (text: string, file: string, hash: (password: Buffer) => Promise<string>): Promise<{ text: string, hashed: number }> {
  let hashed = 0
  const lines: string[] = []
  for (const line of splitLines(text, file)) {
    if (line.user?.entry.kind !== 'plain') {
      lines.push(line.raw)
      continue
    }
    lines.push(userLine(line.user.username, await hash(line.user.entry.password), line.ending))
    hashed++
  }
  return { text: lines.join(''), hashed }
}
