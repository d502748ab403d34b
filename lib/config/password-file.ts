// Mosquitto's password_file: one `username:password` line per user, where the password is
//   $7$<iterations>$<base64 salt>$<base64 hash>  PBKDF2-HMAC-SHA512 (mosquitto_passwd's default since 2.0)
//   $6$<base64 salt>$<base64 hash>                SHA-512 of the password bytes followed by the salt bytes
//   anything else                                 the password itself, in plain text
// Lines starting with '#' and blank lines are skipped. The writer (`hashPassword`, `formatSecret`)
// makes the same lines, for `roost passwd`.
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { ConfigError } from '../errors'
import { readNamedFile } from './lines'

export type PasswordEntry =
  | { kind: 'pbkdf2-sha512', iterations: number, salt: Buffer, hash: Buffer }
  | { kind: 'sha512', salt: Buffer, hash: Buffer }
  | { kind: 'plain', password: Buffer }

export type PasswordTable = Map<string, PasswordEntry>

const SHA512_BYTES = 64
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export function readPasswordFile (file: string, mentionedAt: string): PasswordTable {
  return parsePasswordText(readNamedFile('password_file', file, mentionedAt), file)
}

export function parsePasswordText (text: string, file: string): PasswordTable {
  const table: PasswordTable = new Map()
  text.split(/\r?\n/).forEach((raw, index) => {
    const user = parsePasswordLine(raw, `${file}:${index + 1}`)
    if (user !== undefined) table.set(user.username, user.entry)
  })
  return table
}

/**
 * One line of a password file: its user, or undefined for a comment or a blank line. Blanks
 * around the username and the password are not part of them, as in Mosquitto.
 */
export function parsePasswordLine (raw: string, source: string): { username: string, entry: PasswordEntry } | undefined {
  const line = raw.trim()
  if (line === '' || line.startsWith('#')) return undefined
  const colon = line.indexOf(':')
  const username = line.slice(0, Math.max(colon, 0)).trimEnd()
  if (username === '') throw new ConfigError('a password file line must be username:password', source)
  return { username, entry: parseSecret(line.slice(colon + 1).trimStart(), source) }
}

function parseSecret (secret: string, source: string): PasswordEntry {
  if (secret.startsWith('$7$')) {
    const [iterationsText, salt, hash, extra] = secret.slice(3).split('$')
    const iterations = Number(iterationsText)
    if (!Number.isSafeInteger(iterations) || iterations < 1 || !isBase64(salt) || !isBase64(hash) || extra !== undefined) {
      throw new ConfigError('malformed $7$ (PBKDF2-SHA512) password hash: expected $7$<iterations>$<salt>$<hash>', source)
    }
    return { kind: 'pbkdf2-sha512', iterations, salt: Buffer.from(salt, 'base64'), hash: checkedHash(hash, source) }
  }
  if (secret.startsWith('$6$')) {
    const [salt, hash, extra] = secret.slice(3).split('$')
    if (!isBase64(salt) || !isBase64(hash) || extra !== undefined) {
      throw new ConfigError('malformed $6$ (SHA-512) password hash: expected $6$<salt>$<hash>', source)
    }
    return { kind: 'sha512', salt: Buffer.from(salt, 'base64'), hash: checkedHash(hash, source) }
  }
  if (/^\$\d+\$/.test(secret)) {
    throw new ConfigError(`unknown password hash type '${secret.slice(0, secret.indexOf('$', 1) + 1)}': only $6$ and $7$ are known`, source)
  }
  return { kind: 'plain', password: Buffer.from(secret, 'utf8') }
}

/** mosquitto_passwd's names for the hashes it writes (its -H option). */
export type PasswordHashName = 'sha512-pbkdf2' | 'sha512'

/** mosquitto_passwd's PBKDF2 iteration count (PW_DEFAULT_ITERATIONS in Mosquitto 2.0). */
export const DEFAULT_PBKDF2_ITERATIONS = 101

// Mosquitto 2.0 drops a user whose salt is not exactly 12 bytes (security_default.c).
const SALT_BYTES = 12

/** Hashes a password with a fresh random salt, as mosquitto_passwd does. */
export async function hashPassword (password: Buffer, hash: PasswordHashName, iterations = DEFAULT_PBKDF2_ITERATIONS): Promise<PasswordEntry> {
  const salt = randomBytes(SALT_BYTES)
  if (hash === 'sha512') return { kind: 'sha512', salt, hash: sha512(password, salt) }
  return { kind: 'pbkdf2-sha512', iterations, salt, hash: await pbkdf2Sha512(password, salt, iterations) }
}

/** The text after `username:` for an entry: the inverse of the parser above. */
export function formatSecret (entry: PasswordEntry): string {
  switch (entry.kind) {
    case 'pbkdf2-sha512': return `$7$${entry.iterations}$${entry.salt.toString('base64')}$${entry.hash.toString('base64')}`
    case 'sha512': return `$6$${entry.salt.toString('base64')}$${entry.hash.toString('base64')}`
    case 'plain': return entry.password.toString('utf8')
  }
}

function sha512 (password: Buffer, salt: Buffer): Buffer {
  return createHash('sha512').update(password).update(salt).digest()
}

// Asynchronous: a slow hash must not hold up every other client's traffic.
async function pbkdf2Sha512 (password: Buffer, salt: Buffer, iterations: number): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    pbkdf2(password, salt, iterations, SHA512_BYTES, 'sha512', (error, key) => { error !== null ? reject(error) : resolve(key) })
  })
}

function isBase64 (text: string | undefined): text is string {
  return text !== undefined && BASE64.test(text)
}

function checkedHash (base64: string, source: string): Buffer {
  const hash = Buffer.from(base64, 'base64')
  if (hash.length !== SHA512_BYTES) throw new ConfigError(`password hash is ${hash.length} bytes, SHA-512 gives ${SHA512_BYTES}`, source)
  return hash
}

/** Whether `given` is the password the entry describes. Compares in constant time. */
export async function passwordMatches (entry: PasswordEntry, given: Buffer): Promise<boolean> {
  switch (entry.kind) {
    case 'plain':
      return given.length === entry.password.length && timingSafeEqual(given, entry.password)
    case 'sha512':
      return timingSafeEqual(sha512(given, entry.salt), entry.hash)
    case 'pbkdf2-sha512':
      return timingSafeEqual(await pbkdf2Sha512(given, entry.salt, entry.iterations), entry.hash)
  }
}
