// The admin endpoint the roost-broker dialog hashes a new password with when the browser cannot
// (WebCrypto exists only in secure contexts: https, or the editor opened on localhost). The hash
// is Mosquitto's `$7$` PBKDF2-SHA512, made as `roost passwd` makes it, so the plain password is
// never stored in the node's credentials. Guarded by roost.write: only someone who may deploy
// flows may use the runtime's CPU for it.
import { DEFAULT_PBKDF2_ITERATIONS, formatSecret, hashPassword } from '../../lib/config/password-file'
import type { AdminResponse, RedApi } from '../shared/red'

export const PASSWORD_HASH_PATH = '/roost/password-hash'

/** An MQTT password is binary data with a two-byte length (MQTT 3.1.1, 3.1.3.5; MQTT 5.0, 3.1.3.6). */
const MAX_PASSWORD_BYTES = 65535

/** The `$7$` line for a password, or undefined when the request carries no usable password. */
export async function hashForDialog (body: unknown): Promise<string | undefined> {
  const password = typeof body === 'object' && body !== null ? (body as { password?: unknown }).password : undefined
  if (typeof password !== 'string') return undefined
  const bytes = Buffer.from(password, 'utf8')
  if (bytes.length > MAX_PASSWORD_BYTES) return undefined
  return formatSecret(await hashPassword(bytes, 'sha512-pbkdf2', DEFAULT_PBKDF2_ITERATIONS))
}

export function registerPasswordHashing (RED: RedApi): void {
  const admin = RED.httpAdmin
  const auth = RED.auth
  // Without an admin server (httpAdminRoot: false) there is no dialog to serve.
  if (admin === undefined || auth === undefined) return
  admin.post(PASSWORD_HASH_PATH, auth.needsPermission('roost.write'), (request, response: AdminResponse) => {
    hashForDialog((request as { body?: unknown }).body).then((hash) => {
      if (hash === undefined) response.status(400).json({ error: 'password must be a string of at most 65535 bytes' })
      else response.json({ hash })
    }, (error: unknown) => {
      response.status(500).json({ error: error instanceof Error ? error.message : String(error) })
    })
  })
}
