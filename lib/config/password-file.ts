// Mosquitto's password_file: one `username:password` line per user, where the password is
//   $7$<iterations>$<base64 salt>$<base64 hash>  PBKDF2-HMAC-SHA512 (mosquitto_passwd's default since 2.0)
//   $6$<base64 salt>$<base64 hash>                SHA-512 of the password bytes followed by the salt bytes
//   anything else                                 the password itself, in plain text
// Lines starting with '#' and blank lines are skipped.
import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Auth, AuthenticateRequest, AuthenticateResult } from '../auth/auth'
import { ConfigError, ReasonCode } from '../errors'
import { describeFsError } from './lines'

export type PasswordEntry =
  | { kind: 'pbkdf2-sha512', iterations: number, salt: Buffer, hash: Buffer }
  | { kind: 'sha512', salt: Buffer, hash: Buffer }
  | { kind: 'plain', password: Buffer }

export type PasswordTable = Map<string, PasswordEntry>

const SHA512_BYTES = 64
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export function readPasswordFile (file: string, mentionedAt: string): PasswordTable {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read password_file '${file}': ${describeFsError(error)}`, mentionedAt)
  }
  return parsePasswordText(text, file)
}

export function parsePasswordText (text: string, file: string): PasswordTable {
  const table: PasswordTable = new Map()
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const source = `${file}:${index + 1}`
    const colon = line.indexOf(':')
    if (colon <= 0) throw new ConfigError('a password file line must be username:password', source)
    table.set(line.slice(0, colon), parseSecret(line.slice(colon + 1), source))
  })
  return table
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
    case 'sha512': {
      const hash = createHash('sha512').update(given).update(entry.salt).digest()
      return timingSafeEqual(hash, entry.hash)
    }
    case 'pbkdf2-sha512': {
      // Asynchronous: a slow hash must not hold up every other client's traffic.
      const hash = await new Promise<Buffer>((resolve, reject) => {
        pbkdf2(given, entry.salt, entry.iterations, SHA512_BYTES, 'sha512', (error, key) => { error !== null ? reject(error) : resolve(key) })
      })
      return timingSafeEqual(hash, entry.hash)
    }
  }
}

/**
 * The authenticate hook for a password file. A client without a username is let in only when
 * anonymous access is allowed; a username must be in the file with the right password, or the
 * CONNACK says "bad user name or password" (3.1.1 return code 4, MQTT 5 reason 0x86).
 * Mosquitto 2.0 answers a wrong password with 5 "not authorised"; Roost uses the code the
 * specification names for exactly this case, as its built-in users table does.
 */
export function passwordFileAuth (table: PasswordTable, allowAnonymous: boolean): Auth {
  return {
    async authenticate (request: AuthenticateRequest): Promise<AuthenticateResult> {
      if (request.username === undefined) return allowAnonymous ? true : ReasonCode.NotAuthorized
      const entry = table.get(request.username)
      if (entry === undefined || request.password === undefined) return ReasonCode.BadUserNameOrPassword
      return await passwordMatches(entry, request.password) ? true : ReasonCode.BadUserNameOrPassword
    }
  }
}
