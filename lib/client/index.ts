// The client engine's public surface: Roost's own MQTT client for remote brokers and bridges.
//
//   const client = createClient({ host: 'broker.local', port: 1883, protocolVersion: 5 })
//   client.on('message', ({ topic, payload, qos, retain, properties }) => { ... })
//   client.on('connect', ({ sessionPresent }) => { ... })
//   client.connect()
//   await client.subscribe([{ filter: 'home/#', qos: 1 }])     // → [1]
//   await client.publish({ topic: 'home/lamp', payload: 'on', qos: 1, retain: true })
//   await client.end()
export { createClient, MqttClient } from './client'
export type { AuthChallenge, EnhancedAuthOptions } from './enhanced-auth'
export { ClientError, type ClientErrorCode } from './errors'
export { CLIENT_DEFAULTS, type ClientOptions, type ClientOptionsInput, type ConnectProperties, type WillOptions } from './options'
export type { PublishSettle } from './outgoing'
export type { ClientEvents, ClientPublish, ClientState, ClientSubscription, ConnackProperties, DisconnectOptions, SubscribeProperties } from './types'
