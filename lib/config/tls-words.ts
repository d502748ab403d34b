// Mosquitto's per-listener TLS words, each read into its field of ListenerTlsOptions, and the check
// made once the file is read: how the words of one listener go together, and that its files
// can be read and used (so `roost -c` names the listener's line rather than failing at listen).
import { ConfigError } from '../errors'
import type { ListenerOptions, ListenerTlsOptions } from '../options'
import { serverTlsOptions } from '../transport/tls-context'
import type { ConfLine } from './lines'
import { parseBoolean, restOfLine, singleValue } from './values'

type TlsWordReader = (tls: ListenerTlsOptions, line: ConfLine) => void

const TLS_VERSIONS: ReadonlyArray<NonNullable<ListenerTlsOptions['tlsVersion']>> = ['tlsv1.1', 'tlsv1.2', 'tlsv1.3']

/** Each TLS word and how it sets its field. Paths take the rest of the line (they may hold spaces). */
export const TLS_WORDS: Readonly<Record<string, TlsWordReader>> = {
  cafile: (tls, line) => { tls.cafile = restOfLine(line) },
  capath: (tls, line) => { tls.capath = restOfLine(line) },
  certfile: (tls, line) => { tls.certfile = restOfLine(line) },
  keyfile: (tls, line) => { tls.keyfile = restOfLine(line) },
  crlfile: (tls, line) => { tls.crlfile = restOfLine(line) },
  require_certificate: (tls, line) => { tls.requireCertificate = parseBoolean(line) },
  use_identity_as_username: (tls, line) => { tls.useIdentityAsUsername = parseBoolean(line) },
  use_subject_as_username: (tls, line) => { tls.useSubjectAsUsername = parseBoolean(line) },
  tls_version: (tls, line) => {
    const version = singleValue(line)
    if (!(TLS_VERSIONS as readonly string[]).includes(version)) {
      throw new ConfigError(`'tls_version' must be one of ${TLS_VERSIONS.join(', ')}, not '${version}'`, line.source)
    }
    tls.tlsVersion = version as ListenerTlsOptions['tlsVersion']
  },
  ciphers: (tls, line) => { tls.ciphers = singleValue(line) },
  'ciphers_tls1.3': (tls, line) => { tls.ciphersTls13 = singleValue(line) },
  psk_hint: (tls, line) => { tls.pskHint = restOfLine(line) },
  psk_file: (tls, line) => { tls.pskFile = restOfLine(line) }
}

/**
 * A PSK listener without a psk_file of its own takes the file's (`sharedPskFile`), and a psk_file
 * after a listener without psk_hint only served the others, as in Mosquitto without
 * per_listener_settings. A listener given only switches turned off (`require_certificate false`)
 * stays plain, as in Mosquitto; any other TLS word makes it a TLS listener whose settings must go
 * together and whose files must be usable. Throws ConfigError at the listener's line.
 */
export function checkListenerTls (listener: ListenerOptions, source: string, sharedPskFile?: string): void {
  const { tls } = listener
  if (tls === undefined) return
  if (tls.pskHint === undefined) delete tls.pskFile
  else if (tls.pskFile === undefined && sharedPskFile !== undefined) tls.pskFile = sharedPskFile
  if (Object.values(tls).every((value) => value === false)) {
    delete listener.tls
    return
  }
  serverTlsOptions(tls, `${source}: listener ${listener.port}`)
}
