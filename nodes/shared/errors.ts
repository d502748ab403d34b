// Errors the nodes turn into translated messages: the code is the last part of a locale key.

export type TransportErrorCode = 'not-connected' | 'closed' | 'no-client-engine'

export class TransportError extends Error {
  constructor (readonly code: TransportErrorCode, message: string) {
    super(message)
    this.name = 'TransportError'
  }
}
