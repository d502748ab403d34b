// Shared pieces for tests that drive the broker with real clients: a broker on a free loopback
// port, MQTT.js clients that are always ended, and a message collector that resolves once the
// expected number of messages has arrived.
import type { IClientOptions, MqttClient } from 'mqtt'
import mqtt from 'mqtt'
import { type Broker, type BrokerHooks, type BrokerOptions, createBroker } from '../../lib'

export interface RunningBroker {
  broker: Broker
  port: number
  url: string
}

/** Starts a broker on 127.0.0.1 with a port chosen by the system. */
export async function startBroker (options: Partial<BrokerOptions> = {}, hooks: BrokerHooks = {}): Promise<RunningBroker> {
  const broker = createBroker({ sysIntervalSec: 0, ...options, listeners: [{ port: 0, host: '127.0.0.1' }] }, hooks)
  const [bound] = await broker.listen()
  if (bound === undefined) throw new Error('the broker bound no listener')
  return { broker, port: bound.port, url: `mqtt://127.0.0.1:${bound.port}` }
}

export interface Connected {
  client: MqttClient
  inbox: Inbox
  sessionPresent: boolean
}

/** MQTT.js clients opened by a test, so `endAll()` can close every one of them. */
export class ClientPool {
  private readonly clients: MqttClient[] = []

  /**
   * Connects and resolves with the client, its inbox (listening before CONNACK, so nothing
   * re-sent right after it is missed) and the CONNACK's session present flag.
   */
  async connect (port: number, options: IClientOptions = {}): Promise<Connected> {
    // No automatic reconnect: a test decides itself when a client comes back.
    const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...options })
    this.clients.push(client)
    const inbox = new Inbox(client)
    const sessionPresent = await new Promise<boolean>((resolve, reject) => {
      client.once('connect', (connack) => { resolve(connack.sessionPresent) })
      // Errors after CONNACK (a closed socket) are the test's business, not an uncaught event.
      client.on('error', reject)
      client.once('close', () => { reject(new Error('closed before CONNACK')) })
    })
    return { client, inbox, sessionPresent }
  }

  async endAll (): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.endAsync(true)))
  }
}

export interface Received {
  topic: string
  payload: Buffer
  qos: number
  retain: boolean
  dup: boolean
}

/** Records every message a client receives and lets a test wait for a count of them. */
export class Inbox {
  readonly messages: Received[] = []
  private waiters: Array<{ count: number, resolve: () => void }> = []

  constructor (client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain, dup: packet.dup })
      this.waiters = this.waiters.filter((waiter) => {
        if (this.messages.length < waiter.count) return true
        waiter.resolve()
        return false
      })
    })
  }

  /** Resolves with every message after the first `from`, up to and including one on `topic`. */
  async waitForTopic (topic: string, from = 0): Promise<Received[]> {
    for (let count = from + 1; ; count++) {
      const messages = await this.waitFor(count)
      if (messages[count - 1]?.topic === topic) return messages.slice(from)
    }
  }

  /** Resolves once at least `count` messages have arrived in total. */
  async waitFor (count: number): Promise<Received[]> {
    if (this.messages.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }))
    return this.messages.slice(0, count)
  }
}

/** Topic and payload of each message, the parts every test compares. */
export function summary (messages: Received[]): Array<{ topic: string, payload: string }> {
  return messages.map((message) => ({ topic: message.topic, payload: message.payload.toString() }))
}

/** Resolves when the client with this id has subscribed (its SUBACK is on the way). */
export function subscribed (broker: Broker, clientId: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: { clientId: string }): void => {
      if (event.clientId !== clientId) return
      broker.off('subscribe', listener)
      resolve()
    }
    broker.on('subscribe', listener)
  })
}

/** Resolves with the reason once the client with this id has gone from the broker. */
export function disconnected (broker: Broker, clientId: string): Promise<string> {
  return new Promise((resolve) => {
    const listener = (event: { clientId: string, reason: string }): void => {
      if (event.clientId !== clientId) return
      broker.off('clientDisconnected', listener)
      resolve(event.reason)
    }
    broker.on('clientDisconnected', listener)
  })
}
