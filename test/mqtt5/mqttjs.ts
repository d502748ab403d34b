// MQTT.js (a client nobody here wrote) against the broker: connects with automatic reconnects
// off, keeps every CONNACK, PUBLISH and server DISCONNECT it receives, and ends with its test.
import type { TestContext } from 'node:test'
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type MqttClient, type Packet } from 'mqtt'

/** Longest wait for anything a test expects; a broken broker fails the test instead of hanging it. */
export const WAIT_MS = 5000

export interface Received {
  topic: string
  payload: string
  packet: IPublishPacket
}

export interface V5Client {
  client: MqttClient
  connack: IConnackPacket
  /** The next message not yet taken, in arrival order. */
  next (): Promise<Received>
  /** Every message received and not yet taken by next(). */
  readonly pending: Received[]
  /** Resolves with the next packet of this type MQTT.js receives from now on (acks carry reason codes MQTT.js hides). */
  nextPacket (cmd: Packet['cmd']): Promise<Packet>
  /** Resolves with the DISCONNECT the server sends. */
  disconnected: Promise<IDisconnectPacket>
  /** Closes the socket without DISCONNECT, so a will is published. */
  drop (): Promise<void>
}

export function bounded<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export async function connectV5 (t: TestContext, port: number, options: IClientOptions = {}): Promise<V5Client> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    ...options
  })
  t.after(() => client.end(true))
  const pending: Received[] = []
  const waiters: Array<(message: Received) => void> = []
  client.on('message', (topic, payload, packet) => {
    const message = { topic, payload: payload.toString(), packet }
    const waiter = waiters.shift()
    if (waiter !== undefined) waiter(message)
    else pending.push(message)
  })
  const disconnected = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve))
  // An 'error' before CONNACK rejects; later ones (the socket ending) are expected in some tests.
  client.on('error', () => {})
  const connack = await bounded(new Promise<IConnackPacket>((resolve) => client.once('connect', resolve)), 'CONNACK')
  return {
    client,
    connack,
    pending,
    disconnected,
    next: async () => {
      const ready = pending.shift()
      if (ready !== undefined) return ready
      return await bounded(new Promise<Received>((resolve) => waiters.push(resolve)), 'message')
    },
    nextPacket: async (cmd) => await bounded(new Promise<Packet>((resolve) => {
      const listener = (packet: Packet): void => {
        if (packet.cmd !== cmd) return
        client.off('packetreceive', listener)
        resolve(packet)
      }
      client.on('packetreceive', listener)
    }), cmd),
    drop: async () => {
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
      client.stream.destroy()
      await bounded(closed, 'close')
    }
  }
}

/** Publishes and resolves with what MQTT.js reports: the PUBACK for QoS 1 (reason code included). */
export async function publish (c: V5Client, topic: string, payload: string, options: mqtt.IClientPublishOptions = {}): Promise<mqtt.Packet | undefined> {
  return await bounded(c.client.publishAsync(topic, payload, options), `acknowledgement of ${topic}`)
}
