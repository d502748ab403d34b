// What a TLS listener needs from its options: Node's TLS server options with every file read and
// checked (a bad certificate, key, CA, CRL or PSK file is a ConfigError naming the file, at start
// and at reload), and the identity a client proved during the handshake (the certificate's CN or
// subject, or its PSK identity) that Mosquitto's use_identity_as_username and
// use_subject_as_username turn into the MQTT username. Shared by TLS and secure WebSockets.
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { describeFsError, readNamedFile } from '../config/lines'
import { ConfigError } from '../errors'
import type { ListenerOptions, ListenerTlsOptions } from '../options'

/** Mosquitto's `tls_version` / `bridge_tls_version` words as Node names the versions. */
export const NODE_TLS_VERSION = { 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' } as const

// Node's default list names TLS 1.3 suites (TLS_...) and the older ciphers in one string; Mosquitto
// sets them with two words, so each part keeps Node's default when only the other is given.
const DEFAULT_CIPHERS = tls.DEFAULT_CIPHERS.split(':')
const DEFAULT_TLS13_SUITES = DEFAULT_CIPHERS.filter((name) => name.startsWith('TLS_')).join(':')
const DEFAULT_TLS12_CIPHERS = DEFAULT_CIPHERS.filter((name) => !name.startsWith('TLS_')).join(':')
/** Node's default refuses PSK ciphers (!PSK); a PSK listener with no `ciphers` of its own offers them. */
const DEFAULT_PSK_CIPHERS = `PSK:${DEFAULT_TLS12_CIPHERS.split(':').filter((name) => name !== '!PSK').join(':')}`

/**
 * How a listener's TLS fields go together, or undefined when they do: a certificate needs its key
 * (and the reverse), something must make the listener speak TLS, and require_certificate needs a
 * CA to check against. Field by field checks are the options schema's.
 */
export function listenerTlsProblem (options: ListenerTlsOptions): string | undefined {
  const hasCert = options.certfile !== undefined || options.cert !== undefined
  const hasKey = options.keyfile !== undefined || options.key !== undefined
  if (options.certfile !== undefined && options.cert !== undefined) return 'has both certfile and cert: give the certificate once'
  if (options.keyfile !== undefined && options.key !== undefined) return 'has both keyfile and key: give the key once'
  if (hasCert && !hasKey) return 'has a certificate (certfile) but no private key (keyfile)'
  if (hasKey && !hasCert) return 'has a private key (keyfile) but no certificate (certfile)'
  if (options.pskFile !== undefined && options.pskHint === undefined) return 'has psk_file but no psk_hint, which turns TLS-PSK on'
  if (!hasCert && options.pskHint === undefined) return 'needs a certificate and key (certfile, keyfile) or TLS-PSK (psk_hint, psk_file)'
  if (options.pskHint !== undefined && options.pskFile === undefined) return 'has psk_hint but no psk_file to take the keys from'
  if (options.requireCertificate === true && options.cafile === undefined && options.capath === undefined && options.ca === undefined) {
    return 'has require_certificate but no cafile or capath to check client certificates against'
  }
  if (options.useSubjectAsUsername === true && !hasCert) return 'has use_subject_as_username but no certificate: TLS-PSK clients have no subject'
  return undefined
}

/** TLS-PSK identities with their keys, as read from a psk_file. */
export type PskKeys = ReadonlyMap<string, Buffer>

/** A psk_file's `identity:hexkey` lines (blank lines and `#` comments skipped). Throws ConfigError naming file:line. */
export function readPskFile (file: string, mentionedAt: string): PskKeys {
  const keys = new Map<string, Buffer>()
  readNamedFile('psk_file', file, mentionedAt).split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const colon = line.indexOf(':')
    const identity = line.slice(0, Math.max(colon, 0))
    const hex = line.slice(colon + 1)
    if (identity === '' || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) {
      throw new ConfigError('a psk_file line must be identity:hexkey (the key in hexadecimal, an even number of digits)', `${file}:${index + 1}`)
    }
    keys.set(identity, Buffer.from(hex, 'hex'))
  })
  return keys
}

/** The PSK identity each socket was let in with; read by transportIdentity(). */
const PSK_IDENTITIES = new WeakMap<tls.TLSSocket, string>()

/**
 * Node's TLS server options for a listener: certificates, keys, CAs and CRLs read from their
 * files (or taken as PEM text), each checked on its own so that a bad one is named, then together
 * so that a key that does not match its certificate is caught here rather than at the first
 * client. Throws ConfigError. `where` names the listener in messages (`listener 8883`).
 */
export function serverTlsOptions (options: ListenerTlsOptions, where = 'listener'): tls.TlsOptions {
  const problem = listenerTlsProblem(options)
  if (problem !== undefined) throw new ConfigError(`TLS ${problem}`, where)
  const result: tls.TlsOptions = {
    // Mosquitto asks for a client certificate only with require_certificate, and then insists.
    requestCert: options.requireCertificate === true,
    rejectUnauthorized: options.requireCertificate === true,
    minVersion: NODE_TLS_VERSION[options.tlsVersion ?? 'tlsv1.2'],
    ciphers: `${options.ciphersTls13 ?? DEFAULT_TLS13_SUITES}:${options.ciphers ?? (options.pskHint !== undefined ? DEFAULT_PSK_CIPHERS : DEFAULT_TLS12_CIPHERS)}`
  }
  if (options.tlsVersion === 'tlsv1.1') {
    // OpenSSL 3 allows TLS 1.1 only at security level 0; asking for it means asking for that.
    result.ciphers = `${result.ciphers as string}:@SECLEVEL=0`
  }
  const cert = options.cert ?? readPem('certfile', options.certfile, where)
  if (cert !== undefined) {
    checkCertificates('certfile', options.certfile, cert, where)
    const key = options.key ?? readPem('keyfile', options.keyfile, where) as string
    checkKey(options, key, where)
    result.cert = cert
    result.key = key
    if (options.passphrase !== undefined) result.passphrase = options.passphrase
    const { passphrase } = result
    checkPart(`${describe('keyfile', options.keyfile)} with ${describe('certfile', options.certfile)}`, where,
      () => tls.createSecureContext(passphrase === undefined ? { cert, key } : { cert, key, passphrase }))
  }
  const ca = readCas(options, where)
  if (ca.length > 0) result.ca = ca
  const crl = readPem('crlfile', options.crlfile, where)
  if (crl !== undefined) {
    checkPart(describe('crlfile', options.crlfile), where, () => tls.createSecureContext({ crl }))
    result.crl = crl
  }
  if (options.pskHint !== undefined) {
    const keys = readPskFile(options.pskFile as string, where)
    result.pskIdentityHint = options.pskHint
    result.pskCallback = (socket, identity) => {
      const key = keys.get(identity)
      // An unknown identity fails the handshake (null), as in Mosquitto.
      if (key === undefined) return null
      PSK_IDENTITIES.set(socket, identity)
      return key
    }
  }
  // What is left to fail here is the cipher lists.
  checkPart('ciphers', where, () => tls.createSecureContext(result))
  return result
}

/**
 * The username the handshake vouches for on a listener with use_identity_as_username (the
 * certificate's first CN, or the PSK identity) or use_subject_as_username (the certificate's
 * subject in RFC 2253 form, as Mosquitto prints it); undefined when the listener uses neither,
 * or when the client proved nothing (CONNECT handling then refuses it, as Mosquitto does).
 */
export function transportIdentity (socket: tls.TLSSocket, options: ListenerTlsOptions): string | undefined {
  if (options.useIdentityAsUsername !== true && options.useSubjectAsUsername !== true) return undefined
  const pskIdentity = PSK_IDENTITIES.get(socket)
  if (pskIdentity !== undefined) return options.useIdentityAsUsername === true ? pskIdentity : undefined
  // Only a certificate that chains to a trusted CA (and is not revoked) says who the client is.
  if (!socket.authorized) return undefined
  if (options.useIdentityAsUsername === true) {
    const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined
    const first = Array.isArray(cn) ? cn[0] : cn
    // A CN with a NUL in it would read as a shorter name to C code: Mosquitto refuses it, so does Roost.
    return first === undefined || first === '' || first.includes('\u0000') ? undefined : first
  }
  const certificate = socket.getPeerX509Certificate()
  return certificate === undefined ? undefined : rfc2253Subject(certificate.subject)
}

/** Whether a listener makes the handshake's identity the username (so a client without one is refused). */
export function wantsTransportIdentity (listener: Readonly<ListenerOptions> | undefined): boolean {
  return listener?.tls?.useIdentityAsUsername === true || listener?.tls?.useSubjectAsUsername === true
}

/**
 * Node prints a subject one RDN a line, in certificate order, values escaped as RFC 2253 asks
 * (OpenSSL's ESC_2253 and ESC_CTRL) and the parts of a multi-valued RDN joined by " + ".
 * Mosquitto prints it with OpenSSL's XN_FLAG_RFC2253: every entry in reverse order (the parts of a
 * multi-valued RDN too), RDNs separated by ',', parts by '+', and the bytes over 0x7F of the UTF-8
 * text escaped as \XX (ESC_MSB). A literal '+' in a value is escaped ("\+"), so " + " only ever
 * joins parts.
 */
export function rfc2253Subject (nodeSubject: string): string {
  return nodeSubject.split('\n').filter((line) => line !== '').reverse()
    .map((rdn) => escapeHighBytes(rdn.split(' + ').reverse().join('+')))
    .join(',')
}

function escapeHighBytes (text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text
  let out = ''
  for (const char of text) {
    if (char.charCodeAt(0) < 0x80) {
      out += char
    } else {
      for (const byte of Buffer.from(char, 'utf8')) out += `\\${byte.toString(16).toUpperCase()}`
    }
  }
  return out
}

function readPem (word: string, file: string | undefined, where: string): string | undefined {
  return file === undefined ? undefined : readNamedFile(word, file, where)
}

/** CAs from cafile, every file of capath that holds certificates, and PEM text. */
function readCas (options: ListenerTlsOptions, where: string): string[] {
  const cas: string[] = []
  const cafile = readPem('cafile', options.cafile, where)
  if (cafile !== undefined) {
    checkCertificates('cafile', options.cafile, cafile, where)
    cas.push(cafile)
  }
  if (options.capath !== undefined) {
    let names: string[]
    try {
      names = readdirSync(options.capath, { withFileTypes: true }).filter((entry) => !entry.isDirectory()).map((entry) => entry.name)
    } catch (error) {
      throw new ConfigError(`cannot read capath '${options.capath}': ${describeFsError(error)}`, where)
    }
    // A capath prepared with c_rehash holds links and other files too: only certificates count.
    for (const name of names.sort()) {
      const text = readNamedFile('capath file', path.join(options.capath, name), where)
      if (text.includes('-----BEGIN CERTIFICATE-----')) cas.push(text)
    }
    if (cas.length === (cafile === undefined ? 0 : 1)) throw new ConfigError(`capath '${options.capath}' holds no PEM certificate`, where)
  }
  if (options.ca !== undefined) {
    checkCertificates('ca', undefined, options.ca, where)
    cas.push(options.ca)
  }
  return cas
}

/** Every certificate in a PEM text must parse; the first one that does not is reported. */
function checkCertificates (word: string, file: string | undefined, pem: string, where: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)
  if (blocks === null) throw new ConfigError(`${describe(word, file)} holds no PEM certificate`, where)
  for (const block of blocks) checkPart(describe(word, file), where, () => new X509Certificate(block))
}

function checkKey (options: ListenerTlsOptions, key: string, where: string): void {
  checkPart(describe('keyfile', options.keyfile), where, () => {
    createPrivateKey(options.passphrase === undefined ? { key } : { key, passphrase: options.passphrase })
  })
}

/** Runs one check; a failure is a ConfigError saying what (`certfile '/etc/cert.pem'`) and why. */
function checkPart (what: string, where: string, check: () => unknown): void {
  try {
    check()
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConfigError(`${what} is not usable: ${reason}`, where)
  }
}

function describe (word: string, file: string | undefined): string {
  return file === undefined ? word : `${word} '${file}'`
}
