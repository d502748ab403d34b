// The roost-broker dialog's Security tab, turned into broker options: more listeners (TLS through a
// tls-config node, WebSockets, mount points), users whose passwords are Mosquitto hashes, the
// access-rule table and the client-id words. Only what the user set is passed on, so a node that
// uses none of it gives exactly the options it gave before the tab existed.
import type { BrokerOptions, ListenerOptions, ListenerTlsOptions } from '../../lib'
import type { AclEntry } from '../../lib/options'
import { readBool, readInt, readString } from '../shared/config'

/** A problem with the dialog's values, named by a key below `roost-broker.errors.`. */
export class DialogError<Key extends string = DialogErrorKey> extends Error {
  constructor (readonly key: Key, readonly details: Record<string, string> = {}) {
    super(key)
  }
}

/** Every key a DialogError may carry (the locale test checks each exists). */
export const DIALOG_ERROR_KEYS = ['invalid-users', 'invalid-listener', 'no-tls-config', 'invalid-acl', 'cluster-no-tls-config'] as const
export type DialogErrorKey = typeof DIALOG_ERROR_KEYS[number]

/** The PEM text a tls-config node holds (files it read, or text pasted into it). */
export interface TlsPem {
  ca?: string
  cert?: string
  key?: string
  passphrase?: string
}

/** The PEM text of the tls-config node with this id; undefined when there is no such node. */
export type TlsLookup = (id: string) => TlsPem | undefined

/** What the Security tab adds to BrokerOptions. */
export type SecurityOptions = Pick<BrokerOptions, 'users'> &
Partial<Pick<BrokerOptions, 'passwordHashes' | 'acl' | 'allowZeroLengthClientid' | 'autoIdPrefix' | 'clientidPrefixes' | 'useUsernameAsClientid' | 'checkRetainSource'>>

/** A row of the listeners table as the dialog saves it. */
export interface ListenerRow {
  protocol?: string
  tls?: boolean | string
  port?: string | number
  host?: string
  mountPoint?: string
}

/** The Security tab's fields in the node's flow JSON. */
export interface SecurityConfig {
  listeners?: ListenerRow[]
  listenerTls?: string
  requireCertificate?: boolean | string
  useIdentityAsUsername?: boolean | string
  acl?: Array<Partial<Record<keyof AclEntry, string>>>
  allowZeroLengthClientid?: boolean | string
  autoIdPrefix?: string
  clientidPrefixes?: string
  useUsernameAsClientid?: boolean | string
  checkRetainSource?: boolean | string
}

const HASHED = /^\$[67]\$/
const ACCESS: ReadonlySet<string> = new Set(['read', 'write', 'readwrite', 'deny'])

/**
 * The users credential: a JSON list of `{username, hash}` (a Mosquitto `$7$`/`$6$` hash, what the
 * dialog stores) or `{username, password}` (plain text, what nodes saved before hashing store).
 */
export function parseUserList (text: string | undefined): Pick<SecurityOptions, 'users' | 'passwordHashes'> {
  const users: Record<string, string> = {}
  const hashes: Record<string, string> = {}
  if (text === undefined || text.trim() === '') return { users }
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch {
    throw new DialogError('invalid-users')
  }
  if (!Array.isArray(list)) throw new DialogError('invalid-users')
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null) throw new DialogError('invalid-users')
    const { username, password, hash } = entry as { username?: unknown, password?: unknown, hash?: unknown }
    if (typeof username !== 'string' || username === '') throw new DialogError('invalid-users')
    if (typeof hash === 'string' && HASHED.test(hash) && password === undefined) hashes[username] = hash
    else if (hash === undefined && typeof password === 'string') users[username] = password
    else throw new DialogError('invalid-users')
  }
  return Object.keys(hashes).length === 0 ? { users } : { users, passwordHashes: hashes }
}

/**
 * The listeners table. A TLS row takes its certificate, key and CA from the tls-config node the
 * tab names (`listenerTls`); a row without one is refused rather than opened in plain text.
 */
export function extraListeners (config: SecurityConfig, lookupTls: TlsLookup): ListenerOptions[] {
  const rows = Array.isArray(config.listeners) ? config.listeners : []
  return rows.map((row, index) => {
    const where = { row: String(index + 1) }
    const port = readInt(row.port, -1)
    if (port < 0 || port > 65535) throw new DialogError('invalid-listener', where)
    const listener: ListenerOptions = { port }
    const host = readString(row.host).trim()
    if (host !== '') listener.host = host
    if (row.protocol === 'websockets') listener.protocol = 'websockets'
    else if (row.protocol !== undefined && row.protocol !== 'mqtt') throw new DialogError('invalid-listener', where)
    const mountPoint = readString(row.mountPoint).trim()
    if (mountPoint !== '') listener.mountPoint = mountPoint
    if (readBool(row.tls, false)) listener.tls = listenerTls(config, lookupTls, where)
    return listener
  })
}

function listenerTls (config: SecurityConfig, lookupTls: TlsLookup, where: Record<string, string>): ListenerTlsOptions {
  const id = readString(config.listenerTls)
  const pem = id === '' ? undefined : lookupTls(id)
  // A server cannot speak TLS without its certificate and key (MQTT 3.1.1, 5.1; MQTT 5.0, 5.4.9).
  if (pem?.cert === undefined || pem.key === undefined) throw new DialogError('no-tls-config', where)
  const tls: ListenerTlsOptions = { ...pem }
  if (readBool(config.requireCertificate, false)) tls.requireCertificate = true
  if (readBool(config.useIdentityAsUsername, false)) tls.useIdentityAsUsername = true
  return tls
}

/** The access-rule table; rows the dialog left empty are skipped, anything else malformed is refused. */
export function aclEntries (config: SecurityConfig): AclEntry[] {
  const rows = Array.isArray(config.acl) ? config.acl : []
  const entries: AclEntry[] = []
  rows.forEach((row, index) => {
    const filter = readString(row.filter)
    if (filter.trim() === '') return
    const kind = row.kind
    const access = readString(row.access, 'readwrite')
    if ((kind !== 'topic' && kind !== 'pattern') || !ACCESS.has(access)) throw new DialogError('invalid-acl', { row: String(index + 1) })
    const entry: AclEntry = { kind, access: access as AclEntry['access'], filter }
    const username = readString(row.username).trim()
    if (kind === 'topic' && username !== '') entry.username = username
    entries.push(entry)
  })
  return entries
}

/** Users, access rules and client-id words; each optional word only when it differs from Mosquitto's default. */
export function securityOptions (config: SecurityConfig, usersCredential: string | undefined): SecurityOptions {
  const options: SecurityOptions = parseUserList(usersCredential)
  const acl = aclEntries(config)
  if (acl.length > 0) options.acl = acl
  if (!readBool(config.allowZeroLengthClientid, true)) options.allowZeroLengthClientid = false
  const autoIdPrefix = readString(config.autoIdPrefix).trim()
  if (autoIdPrefix !== '' && autoIdPrefix !== 'auto-') options.autoIdPrefix = autoIdPrefix
  const clientidPrefixes = readString(config.clientidPrefixes).trim()
  if (clientidPrefixes !== '') options.clientidPrefixes = clientidPrefixes
  if (readBool(config.useUsernameAsClientid, false)) options.useUsernameAsClientid = true
  if (!readBool(config.checkRetainSource, true)) options.checkRetainSource = false
  return options
}

/** Reads a tls-config node through its own addTLSOptions(), as the core mqtt node does; Buffers become text. */
export function tlsPemOf (node: { addTLSOptions: (options: Record<string, unknown>) => void }): TlsPem {
  const options: Record<string, unknown> = {}
  node.addTLSOptions(options)
  const pem: TlsPem = {}
  for (const field of ['ca', 'cert', 'key', 'passphrase'] as const) {
    const value = options[field]
    if (typeof value === 'string' && value !== '') pem[field] = value
    else if (Buffer.isBuffer(value) && value.length > 0) pem[field] = value.toString('utf8')
  }
  return pem
}
