// Bridged throughput: a publisher on the bridging broker, a `topic bench/# out 1` bridge to a
// remote Mosquitto, a subscriber there. Roost (the roost command reading the bridge from its
// mosquitto.conf) and Mosquitto take turns as the bridging broker, in one run, against the same
// remote; the figures are messages per second end to end and CPU per message of each process.
//
//   node --import tsx bench/bridge-throughput.ts [messages]
//
// QoS 1 all the way: MQTT.js publishes with at most WINDOW unacknowledged, the bridge forwards
// at QoS 1, the subscriber takes QoS 1. Nothing may be lost: a run that does not see every
// message within its time limit reports how many were missing.
import mqtt, { type MqttClient } from 'mqtt'
import { type RunningBroker, startBroker } from './brokers'
import { cpuMicros } from './generator/proc'

export interface BridgeRunResult {
  /** Which broker ran the bridge. */
  bridging: 'roost' | 'mosquitto'
  messages: number
  /** Messages the remote subscriber received per second, first publish to last arrival. */
  rate: number
  /** CPU of the bridging broker per message (µs, user + system). */
  bridgingCpuMicrosPerMessage: number
  /** CPU of the remote Mosquitto per message. */
  remoteCpuMicrosPerMessage: number
  /** Messages that did not arrive within the time limit. */
  missing: number
}

export interface BridgeBenchResult {
  payloadBytes: number
  runs: BridgeRunResult[]
}

const WINDOW = 500
const PAYLOAD = Buffer.alloc(64, 'x')
const TOPIC = 'bench/bridge'
const WAIT_MS = 120_000

/** An MQTT.js client without automatic reconnect, once its CONNACK is in. */
export async function connect (port: number, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port, clientId, reconnectPeriod: 0 })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  return client
}

/** Publishes until the bridge carries a probe across: it is up, its subscriptions made. */
async function waitForBridge (publisher: MqttClient, subscriber: MqttClient): Promise<void> {
  let crossed = false
  const listener = (topic: string): void => { if (topic === `${TOPIC}/probe`) crossed = true }
  subscriber.on('message', listener)
  for (let attempt = 0; attempt < 300 && !crossed; attempt++) {
    await publisher.publishAsync(`${TOPIC}/probe`, 'probe', { qos: 1 })
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  subscriber.off('message', listener)
  if (!crossed) throw new Error('the bridge did not come up')
}

async function run (bridging: 'roost' | 'mosquitto', messages: number): Promise<BridgeRunResult> {
  const remote = await startBroker('mosquitto')
  let local: RunningBroker | undefined
  const clients: MqttClient[] = []
  try {
    local = await startBroker(bridging, {
      extraConf: [
        'connection bench', `address 127.0.0.1:${remote.port}`, 'remote_clientid bench-bridge', 'cleansession true',
        'restart_timeout 1', 'notifications false', 'topic bench/# out 1'
      ]
    })
    const subscriber = await connect(remote.port, 'bench-sub')
    clients.push(subscriber)
    await subscriber.subscribeAsync(`${TOPIC}/#`, { qos: 1 })
    const publisher = await connect(local.port, 'bench-pub')
    clients.push(publisher)
    await waitForBridge(publisher, subscriber)

    let received = 0
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => { done = resolve })
    subscriber.on('message', (topic) => {
      if (topic === TOPIC && ++received === messages) done()
    })
    const localCpu = cpuMicros(local.pid)
    const remoteCpu = cpuMicros(remote.pid)
    const started = performance.now()
    let sent = 0
    let acked = 0
    await new Promise<void>((resolve, reject) => {
      const pump = (): void => {
        while (sent < messages && sent - acked < WINDOW) {
          sent++
          publisher.publish(TOPIC, PAYLOAD, { qos: 1 }, (error) => {
            if (error !== undefined && error !== null) { reject(error); return }
            acked++
            if (acked === messages) resolve()
            else pump()
          })
        }
      }
      pump()
    })
    const timer = new Promise<void>((resolve) => setTimeout(resolve, WAIT_MS).unref())
    await Promise.race([all, timer])
    const seconds = (performance.now() - started) / 1000
    const count = Math.max(received, 1)
    return {
      bridging,
      messages,
      rate: received / seconds,
      bridgingCpuMicrosPerMessage: (cpuMicros(local.pid) - localCpu) / count,
      remoteCpuMicrosPerMessage: (cpuMicros(remote.pid) - remoteCpu) / count,
      missing: messages - received
    }
  } finally {
    await Promise.all(clients.map((client) => client.endAsync(true)))
    await local?.stop()
    await remote.stop()
  }
}

/** Roost then Mosquitto as the bridging broker, `messages` each. */
export async function measureBridges (messages: number): Promise<BridgeBenchResult> {
  const runs: BridgeRunResult[] = []
  for (const bridging of ['roost', 'mosquitto'] as const) runs.push(await run(bridging, messages))
  return { payloadBytes: PAYLOAD.length, runs }
}

if (require.main === module) {
  const messages = Number(process.argv[2]) > 0 ? Number(process.argv[2]) : 100_000
  measureBridges(messages).then((result) => { console.log(JSON.stringify(result, null, 2)) }, (error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
