// How a node proves itself to NATS and checks NATS in turn: TLS (CA, client certificate) and one
// way to authenticate (user and password, token, a .creds file, an nkey seed), as nats.js connect
// options. Files are read at each attempt to connect, so a certificate renewed on disk or a path
// fixed is picked up on the next try, and a file that cannot be read is a clear line in the log,
// never a broker that falls over.
import type { ConnectionOptions } from '@nats-io/transport-node'
import { readNamedFile } from '../config/lines'
import type { ClusterOptions, ClusterTlsOptions } from './options'

type Nats = typeof import('@nats-io/transport-node')

/** The security part of nats.js connect options. Throws ConfigError naming a file it cannot read. */
export function natsSecurityOptions (options: ClusterOptions, nats: Nats): Partial<ConnectionOptions> {
  const settings: Partial<ConnectionOptions> = {}
  const tls = natsTls(options.tls)
  if (tls !== undefined) settings.tls = tls
  if (options.username !== undefined) {
    settings.user = options.username
    settings.pass = options.password ?? ''
  }
  if (options.token !== undefined) settings.token = options.token
  if (options.credentials !== undefined) {
    const creds = readNamedFile('cluster_nats_credentials', options.credentials)
    settings.authenticator = nats.credsAuthenticator(new TextEncoder().encode(creds))
  }
  const seed = options.nkeySeed ?? (options.nkeyfile === undefined ? undefined : readNamedFile('cluster_nats_nkeyfile', options.nkeyfile).trim())
  if (seed !== undefined) settings.authenticator = nats.nkeyAuthenticator(new TextEncoder().encode(seed))
  return settings
}

/** nats.js TLS settings (PEM text, files read here), or undefined when nothing asks for TLS. */
function natsTls (tls: ClusterTlsOptions | undefined): ConnectionOptions['tls'] {
  if (tls === undefined) return undefined
  const ca = joinPem(tls.ca, tls.cafile === undefined ? undefined : readNamedFile('cluster_nats_cafile', tls.cafile))
  const cert = tls.cert ?? (tls.certfile === undefined ? undefined : readNamedFile('cluster_nats_certfile', tls.certfile))
  const key = tls.key ?? (tls.keyfile === undefined ? undefined : readNamedFile('cluster_nats_keyfile', tls.keyfile))
  const settings: NonNullable<ConnectionOptions['tls']> = {}
  if (ca !== undefined) settings.ca = ca
  if (cert !== undefined) settings.cert = cert
  if (key !== undefined) settings.key = key
  // nats.js hands its TLS settings on to node:tls, which decrypts the key with this.
  if (tls.passphrase !== undefined) Object.assign(settings, { passphrase: tls.passphrase })
  return settings
}

function joinPem (text: string | undefined, file: string | undefined): string | undefined {
  if (text === undefined) return file
  return file === undefined ? text : `${text}\n${file}`
}

/** Why an attempt to connect failed, in words that point at the setting to fix. */
export function describeConnectFailure (error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  // nats.js names the server's '-ERR Authorization Violation' (and expired or revoked credentials) so.
  if (error instanceof Error && /^Auth/.test(error.name)) return `NATS refused this node's credentials (${message}): check the cluster user and password, token, credentials file or nkey`
  return message
}
