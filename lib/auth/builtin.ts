// The broker's own authentication rules: the users table (first in the chain) and, when no
// authorizer has an opinion, `allow_anonymous`.
import { timingSafeEqual } from 'node:crypto'
import { ReasonCode } from '../errors'
import type { Auth, AuthenticateRequest, AuthenticateResult } from './auth'

export interface BuiltinAuthOptions {
  allowAnonymous: boolean
  users: Record<string, string>
}

function samePassword (expected: string, given: Buffer | undefined): boolean {
  if (given === undefined) return false
  const wanted = Buffer.from(expected, 'utf8')
  // Compare in constant time so the reply's timing says nothing about the password.
  return wanted.length === given.length && timingSafeEqual(wanted, given)
}

/**
 * The users table (Node-RED credentials, or code): a user in it is accepted with the right
 * password and refused with any other; about anyone else it has no opinion.
 */
export function usersTableAuth (users: Record<string, string>): Auth {
  return {
    authenticate (request: AuthenticateRequest): AuthenticateResult | undefined {
      const name = request.username
      if (name === undefined || !Object.prototype.hasOwnProperty.call(users, name)) return undefined
      return samePassword(users[name] as string, request.password) ? true : ReasonCode.BadUserNameOrPassword
    }
  }
}

/**
 * The decision when no authorizer had an opinion: anonymous clients as `allow_anonymous` says;
 * a name the users table does not know is refused when there is a table, and otherwise is just
 * a label, treated as anonymous.
 */
export function defaultAuthentication (options: BuiltinAuthOptions, request: AuthenticateRequest): AuthenticateResult {
  if (request.username !== undefined && Object.keys(options.users).length > 0) return ReasonCode.BadUserNameOrPassword
  return options.allowAnonymous ? true : ReasonCode.NotAuthorized
}
