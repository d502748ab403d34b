// The broker's file-based security: password_file (with the editor's hashed users) and acl_file
// (with the options' rule table), broker-wide or, with per_listener_settings, per listener, as
// Mosquitto 2 keeps them. The files are read when the broker is created (a bad one is a
// ConfigError, like a bad option) and again by reload(), which swaps the new rules in only when
// every file read cleanly: a broken edit keeps the rules in force and says why.
//
// Two authorizers come from here, put in the chain only when they have something to enforce,
// so a broker without files pays nothing: passwords (authenticate) and the ACL (publish,
// subscribe, delivery). Both look up the client's scope by the listener it came in on.
import type { BrokerOptions, ListenerOptions } from '../options'
import { type PasswordTable, parsePasswordLine, passwordMatches, readPasswordFile } from '../config/password-file'
import { ConfigError, ReasonCode } from '../errors'
import type { Logger } from '../logger'
import type { ClientInfo } from '../types'
import { aclEntriesRules, mergeAclRules } from './acl-entries'
import { type AclRules, readAclFile } from './acl-file'
import { aclAllows } from './acl-match'
import type { Auth, AuthenticateAnswer, AuthenticateRequest } from './auth'

/** The rules that hold for the clients of one listener (or of every listener). */
export interface SecurityScope {
  allowAnonymous: boolean
  /** Users of password_file and passwordHashes; undefined when neither is configured. */
  passwords: PasswordTable | undefined
  /** acl_file and the `acl` table; undefined when neither is configured (everything allowed). */
  acl: AclRules | undefined
}

interface Scopes {
  shared: SecurityScope
  /** Per listener, by position in options.listeners; only with per_listener_settings. */
  perListener: SecurityScope[] | undefined
}

function hashedUsers (hashes: Record<string, string>): PasswordTable {
  const table: PasswordTable = new Map()
  for (const [username, secret] of Object.entries(hashes)) {
    const user = parsePasswordLine(`${username}:${secret}`, `passwordHashes.${username}`)
    if (user !== undefined) table.set(user.username, user.entry)
  }
  return table
}

function passwordsOf (file: string | undefined, word: string, hashes: PasswordTable | undefined): PasswordTable | undefined {
  if (file === undefined) return hashes
  const table = readPasswordFile(file, word)
  // The editor's users come after the file's, as a later line of the file would.
  for (const [name, entry] of hashes ?? []) table.set(name, entry)
  return table
}

function aclOf (file: string | undefined, word: string, table: AclRules | undefined): AclRules | undefined {
  if (file === undefined) return table
  const rules = readAclFile(file, word)
  return table === undefined ? rules : mergeAclRules(rules, table)
}

/** Reads every file the options name. Throws ConfigError naming the file (and line). */
function loadScopes (options: BrokerOptions): Scopes {
  const hashes = options.passwordHashes === undefined ? undefined : hashedUsers(options.passwordHashes)
  const table = options.acl === undefined || options.acl.length === 0 ? undefined : aclEntriesRules(options.acl)
  const shared: SecurityScope = {
    allowAnonymous: options.allowAnonymous,
    passwords: passwordsOf(options.passwordFile, 'options.passwordFile', hashes),
    acl: aclOf(options.aclFile, 'options.aclFile', table)
  }
  if (!options.perListenerSettings) return { shared, perListener: undefined }
  const perListener = options.listeners.map((listener: ListenerOptions, index): SecurityScope => ({
    allowAnonymous: listener.allowAnonymous ?? options.allowAnonymous,
    passwords: passwordsOf(listener.passwordFile, `options.listeners.${index}.passwordFile`, hashes),
    acl: aclOf(listener.aclFile, `options.listeners.${index}.aclFile`, table)
  }))
  return { shared, perListener }
}

function allScopes (scopes: Scopes): SecurityScope[] {
  return [scopes.shared, ...scopes.perListener ?? []]
}

export class FileSecurity {
  private scopes: Scopes

  constructor (private readonly options: BrokerOptions, private readonly logger: Logger) {
    this.scopes = loadScopes(options)
    this.logWarnings()
  }

  /**
   * The rules for a client of this listener (by position in options.listeners). A stream handed
   * over by code has no listener and gets the broker-wide rules.
   */
  scopeFor (listenerIndex: number | undefined): SecurityScope {
    const perListener = this.scopes.perListener
    if (perListener === undefined || listenerIndex === undefined) return this.scopes.shared
    return perListener[listenerIndex] ?? this.scopes.shared
  }

  /**
   * The authorizers these rules need, for the chain: none when no file or table is configured.
   * A reload re-reads the same files, so what is needed cannot change after this.
   */
  authorizers (): Auth[] {
    const scopes = allScopes(this.scopes)
    const list: Auth[] = []
    if (scopes.some((scope) => scope.passwords !== undefined)) list.push(this.passwordAuth())
    if (scopes.some((scope) => scope.acl !== undefined)) list.push(this.aclAuth())
    return list
  }

  /** Whether any password_file or acl_file is configured (anything for reload() to read). */
  get readsFiles (): boolean {
    const { options } = this
    const perListener = options.perListenerSettings && options.listeners.some((l) => l.passwordFile !== undefined || l.aclFile !== undefined)
    return options.passwordFile !== undefined || options.aclFile !== undefined || perListener
  }

  /**
   * Reads every file again. Returns undefined when the new rules are in force, or why the old
   * ones stay (a file that cannot be read or parsed, named with its line).
   */
  reload (): string | undefined {
    let next: Scopes
    try {
      next = loadScopes(this.options)
    } catch (error) {
      if (error instanceof ConfigError) return error.message
      throw error
    }
    this.scopes = next
    this.logWarnings()
    return undefined
  }

  private logWarnings (): void {
    for (const scope of allScopes(this.scopes)) {
      for (const warning of scope.acl?.warnings ?? []) this.logger.warning(`Warning: ${warning}.`)
    }
  }

  /**
   * password_file: a username must be listed with the right password; anonymous clients are left
   * to allow_anonymous (the chain's default). A user of the `users` table was already decided
   * earlier in the chain. A wrong password gets "bad user name or password" (3.1.1 return code
   * 4, MQTT 5 0x86): Mosquitto 2.0 answers 5 "not authorised", Roost the code the specification
   * names for exactly this case, as its users table does.
   */
  private passwordAuth (): Auth {
    return {
      authenticate: async (request: AuthenticateRequest): Promise<AuthenticateAnswer> => {
        const passwords = this.scopeFor(request.listenerIndex).passwords
        if (passwords === undefined || request.username === undefined) return undefined
        const entry = passwords.get(request.username)
        if (entry === undefined || request.password === undefined) return ReasonCode.BadUserNameOrPassword
        return await passwordMatches(entry, request.password) ? true : ReasonCode.BadUserNameOrPassword
      }
    }
  }

  /** acl_file: write for PUBLISH and wills, read for each delivery, and SUBSCRIBE (see acl-match.ts). */
  private aclAuth (): Auth {
    return {
      authorizePublish: (client: ClientInfo, topic: string): boolean | undefined => {
        const acl = this.scopeFor(client.listenerIndex).acl
        return acl === undefined ? undefined : aclAllows(acl, client, topic, 'write')
      },
      // Granted at the QoS asked for, or refused: an ACL has no QoS of its own.
      authorizeSubscribe: (client: ClientInfo, filter: string): false | undefined => {
        const acl = this.scopeFor(client.listenerIndex).acl
        return acl === undefined || aclAllows(acl, client, filter, 'subscribe') ? undefined : false
      },
      authorizeDelivery: (client: ClientInfo, topic: string): boolean | undefined => {
        const acl = this.scopeFor(client.listenerIndex).acl
        return acl === undefined ? undefined : aclAllows(acl, client, topic, 'read')
      }
    }
  }
}
