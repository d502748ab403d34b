// Errors the nodes turn into translated messages: the code is the last part of a locale key.

export const TRANSPORT_ERROR_CODES = ['not-connected', 'closed', 'disconnected'] as const
export type TransportErrorCode = typeof TRANSPORT_ERROR_CODES[number]

export class TransportError extends Error {
  constructor (readonly code: TransportErrorCode, message: string) {
    super(message)
    this.name = 'TransportError'
  }
}

/** Why a msg.action `connect` or `disconnect` failed: each is a locale key below `roost-broker.connection.`. */
export const CONNECTION_ERROR_KEYS = ['already-connected', 'embedded-options', 'invalid-option', 'cancelled', 'closed'] as const
export type ConnectionErrorKey = typeof CONNECTION_ERROR_KEYS[number]

export class ConnectionActionError extends Error {
  constructor (readonly key: ConnectionErrorKey, readonly details: Record<string, unknown> = {}) {
    super(key)
    this.name = 'ConnectionActionError'
  }
}
