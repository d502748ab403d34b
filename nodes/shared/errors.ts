// Errors the nodes turn into translated messages: the code is the last part of a locale key.

export const TRANSPORT_ERROR_CODES = ['not-connected', 'closed'] as const
export type TransportErrorCode = typeof TRANSPORT_ERROR_CODES[number]

export class TransportError extends Error {
  constructor (readonly code: TransportErrorCode, message: string) {
    super(message)
    this.name = 'TransportError'
  }
}
