// The client engine's public surface.
export { createClient, MqttClient } from './client'
export { ClientError, type ClientErrorCode } from './errors'
export { CLIENT_DEFAULTS, type ClientOptions, type ClientOptionsInput, type ConnectProperties, type WillOptions } from './options'
export type { ClientEvents, ClientPublish, ClientState, ClientSubscription, ConnackProperties, DisconnectOptions, SubscribeProperties } from './types'
