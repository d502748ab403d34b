// TLS towards the remote broker from Mosquitto's bridge_* words: CA file or directory, client
// certificate and key, host name checking (bridge_insecure), one TLS version, ALPN, or TLS-PSK.
// Files are read when the bridge starts, so a bad path is that bridge's error, not the broker's.
import { readdirSync } from 'node:fs'
import path from 'node:path'
import type { ConnectionOptions } from 'node:tls'
import { ConfigError } from '../errors'
import { describeFsError, readNamedFile } from '../config/lines'
import { NODE_TLS_VERSION } from '../transport/tls-context'
import type { BridgeTlsOptions } from './options'

/** The CA certificates of a bridge_capath directory: its `.crt` and `.pem` files. */
function readCaPath (dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.crt') || name.endsWith('.pem')).sort()
  } catch (error) {
    throw new ConfigError(`cannot read bridge_capath '${dir}': ${describeFsError(error)}`)
  }
  return names.map((name) => readNamedFile('bridge_capath', path.join(dir, name)))
}

/** node:tls settings for the bridge, or undefined for plain TCP. Throws ConfigError on a file it cannot read. */
export function bridgeTls (tls: BridgeTlsOptions | undefined): ConnectionOptions | undefined {
  if (tls === undefined) return undefined
  if (tls.identity !== undefined && tls.psk !== undefined) {
    const identity = tls.identity
    const psk = Buffer.from(tls.psk, 'hex')
    // Node offers TLS-PSK up to TLS 1.2, with the PSK cipher suites only.
    return { pskCallback: () => ({ identity, psk }), ciphers: 'PSK', maxVersion: 'TLSv1.2', checkServerIdentity: () => undefined }
  }
  if (tls.cafile === undefined && tls.capath === undefined && tls.ca === undefined) return undefined
  const ca: string[] = []
  if (tls.ca !== undefined) ca.push(tls.ca)
  if (tls.cafile !== undefined) ca.push(readNamedFile('bridge_cafile', tls.cafile))
  if (tls.capath !== undefined) ca.push(...readCaPath(tls.capath))
  const settings: ConnectionOptions = { ca, rejectUnauthorized: true }
  const cert = tls.cert ?? (tls.certfile === undefined ? undefined : readNamedFile('bridge_certfile', tls.certfile))
  const key = tls.key ?? (tls.keyfile === undefined ? undefined : readNamedFile('bridge_keyfile', tls.keyfile))
  if (cert !== undefined) settings.cert = cert
  if (key !== undefined) settings.key = key
  // bridge_insecure skips the host name check only; the chain is still verified.
  if (tls.insecure === true) settings.checkServerIdentity = () => undefined
  if (tls.version !== undefined) {
    settings.minVersion = NODE_TLS_VERSION[tls.version]
    settings.maxVersion = NODE_TLS_VERSION[tls.version]
  }
  if (tls.alpn !== undefined) settings.ALPNProtocols = [tls.alpn]
  return settings
}
