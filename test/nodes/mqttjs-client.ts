// A stand-in for the engine's MQTT client (lib/client) built on MQTT.js, with the same
// contract (createClient → connect → events → promises → end). The remote transport specs run
// against it until lib/client is merged; then they run against lib/client by swapping the factory.
import { EventEmitter } from 'node:events'
import mqtt from 'mqtt'
import type { ClientEvents, ClientMessage, ClientOptions, EngineClient, EngineClientFactory } from '../../nodes/shared/client-api'

export const mqttJsClientFactory: EngineClientFactory = (options: ClientOptions): EngineClient => {
  const events = new EventEmitter()
  let client: mqtt.MqttClient | undefined
  const connected = (): mqtt.MqttClient => {
    if (client === undefined) throw new Error('connect() was not called')
    return client
  }
  return {
    connect () {
      const connectOptions: mqtt.IClientOptions = {
        host: options.host,
        port: options.port,
        protocol: options.tls === undefined ? 'mqtt' : 'mqtts',
        keepalive: options.keepaliveSec,
        clean: options.cleanSession,
        protocolVersion: options.protocolVersion,
        reconnectPeriod: options.reconnectPeriodMs,
        connectTimeout: options.connectTimeoutMs
      }
      if (options.clientId !== undefined) connectOptions.clientId = options.clientId
      if (options.username !== undefined) connectOptions.username = options.username
      if (options.password !== undefined) connectOptions.password = options.password
      if (options.will !== undefined) {
        const will = { topic: options.will.topic, payload: options.will.payload, qos: options.will.qos, retain: options.will.retain }
        connectOptions.will = will
      }
      if (options.tls !== undefined) Object.assign(connectOptions, options.tls)
      client = mqtt.connect(connectOptions)
      client.on('connect', (connack) => { events.emit('connect', { sessionPresent: connack.sessionPresent }) })
      client.on('close', () => { events.emit('close') })
      client.on('offline', () => { events.emit('offline') })
      client.on('reconnect', () => { events.emit('reconnecting') })
      client.on('error', (error) => { events.emit('error', error) })
      client.on('message', (topic, payload, packet) => {
        const message: ClientMessage = { topic, payload, qos: packet.qos, retain: packet.retain }
        if (packet.properties !== undefined) message.properties = packet.properties as ClientMessage['properties'] & object
        events.emit('message', message)
      })
    },
    on<K extends keyof ClientEvents> (event: K, listener: (...args: ClientEvents[K]) => void) { events.on(event, listener as (...args: unknown[]) => void) },
    off<K extends keyof ClientEvents> (event: K, listener: (...args: ClientEvents[K]) => void) { events.off(event, listener as (...args: unknown[]) => void) },
    async publish (message) {
      const publishOptions: mqtt.IClientPublishOptions = { qos: message.qos, retain: message.retain }
      if (message.properties !== undefined) publishOptions.properties = message.properties as mqtt.IClientPublishOptions['properties']
      await connected().publishAsync(message.topic, message.payload, publishOptions)
    },
    async subscribe (subscriptions) {
      const map: Record<string, { qos: 0 | 1 | 2, nl?: boolean, rap?: boolean, rh?: number }> = {}
      for (const sub of subscriptions) {
        const entry: { qos: 0 | 1 | 2, nl?: boolean, rap?: boolean, rh?: number } = { qos: sub.qos }
        if (options.protocolVersion === 5) {
          if (sub.noLocal !== undefined) entry.nl = sub.noLocal
          if (sub.retainAsPublished !== undefined) entry.rap = sub.retainAsPublished
          if (sub.retainHandling !== undefined) entry.rh = sub.retainHandling
        }
        map[sub.filter] = entry
      }
      await connected().subscribeAsync(map as mqtt.ISubscriptionMap)
    },
    async unsubscribe (filters) {
      await connected().unsubscribeAsync(filters)
    },
    async end () {
      // Forced when the connection is gone, so messages waiting for a reconnect do not hold end().
      if (client !== undefined) await client.endAsync(!client.connected)
      events.removeAllListeners()
    }
  }
}
