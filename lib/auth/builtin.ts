// The broker's own authentication rules when no hook is given: `allow_anonymous` and a table of
// users with passwords.
import { timingSafeEqual } from 'node:crypto'
import { ReasonCode } from '../errors'
import type { AuthenticateRequest, AuthenticateResult } from './auth'

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

export function builtinAuthenticate (options: BuiltinAuthOptions, request: AuthenticateRequest): AuthenticateResult {
  if (request.username === undefined) {
    return options.allowAnonymous ? true : ReasonCode.NotAuthorized
  }
  const known = Object.prototype.hasOwnProperty.call(options.users, request.username)
  if (known) return samePassword(options.users[request.username] as string, request.password) ? true : ReasonCode.BadUserNameOrPassword
  // With a user table, an unknown name is refused; without one, a username is just a label.
  if (Object.keys(options.users).length > 0) return ReasonCode.BadUserNameOrPassword
  return options.allowAnonymous ? true : ReasonCode.NotAuthorized
}
