// Nothing lost while the remote is down: a QoS 1 stream of 10,000 messages over four topics goes
// through a bridge to a Debian mosquitto that is stopped after 3,000 and started again after
// 6,000 (it saves its sessions on SIGTERM, so the subscriber's session and what was queued for it
// survive). Every message must arrive, in order per topic; duplicates (QoS 1 re-sends of what was
// in flight at the stop) are counted. The same run with Mosquitto's own bridge in Roost's place
// gives the figure to compare with.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import mqtt, { type MqttClient } from 'mqtt'
import { type Mosquitto, startMosquitto, tempDir } from '../client/helpers'
import { bridgeReaches, startBridgingBroker } from './helpers'

const TOTAL = 10_000
const STOP_AT = 3_000
const START_AT = 6_000
const TOPICS = 4
/** The wait for the last message once everything is published. */
const DRAIN_MS = 60_000

interface Tally {
  distinct: number
  lost: number
  duplicates: number
  outOfOrder: number
}

/** A persistent-session subscriber on the remote that counts what arrives. */
class Counter {
  readonly seen = new Map<number, number>()
  readonly lastPerTopic = new Map<string, number>()
  outOfOrder = 0
  client: MqttClient

  constructor (port: number) {
    this.client = mqtt.connect({ host: '127.0.0.1', port, clientId: 'counter', clean: false, reconnectPeriod: 100 })
    this.client.on('error', () => {})
    this.client.on('message', (topic, payload) => {
      const n = Number(payload.toString())
      const times = this.seen.get(n) ?? 0
      this.seen.set(n, times + 1)
      if (times > 0) return
      // In order per topic: each first arrival follows the topic's previous one.
      if ((this.lastPerTopic.get(topic) ?? -1) > n) this.outOfOrder++
      this.lastPerTopic.set(topic, n)
    })
  }

  async ready (): Promise<void> {
    await new Promise<void>((resolve) => this.client.once('connect', () => resolve()))
    await this.client.subscribeAsync('stream/#', { qos: 1 })
  }

  async drained (): Promise<void> {
    const deadline = Date.now() + DRAIN_MS
    while (this.seen.size < TOTAL && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  }

  tally (): Tally {
    let duplicates = 0
    for (const times of this.seen.values()) duplicates += times - 1
    return { distinct: this.seen.size, lost: TOTAL - this.seen.size, duplicates, outOfOrder: this.outOfOrder }
  }
}

/** The remote: sessions saved on SIGTERM and taken back at start; room for the whole stream. */
async function startRemote (dir: string): Promise<Mosquitto> {
  return await startMosquitto(dir, ['persistence true', `persistence_location ${dir}${path.sep}`, 'max_queued_messages 20000', 'max_inflight_messages 20'])
}

/** The stream's publisher on the bridging broker: one MQTT.js client, each PUBACK awaited. */
async function connectPublisher (port: number): Promise<MqttClient> {
  const publisher = mqtt.connect({ host: '127.0.0.1', port, clientId: 'publisher', reconnectPeriod: 0 })
  await new Promise<void>((resolve) => publisher.once('connect', () => resolve()))
  return publisher
}

/** Publishes the stream with `publish`, stopping the remote after STOP_AT and starting it after START_AT. */
async function stream (remote: Mosquitto, publish: (topic: string, n: number) => Promise<void>): Promise<void> {
  for (let n = 0; n < TOTAL; n++) {
    await publish(`stream/${n % TOPICS}`, n)
    if (n === STOP_AT) await remote.stop('SIGTERM')
    if (n === START_AT) await remote.start()
    // Let the bridge work between publishes now and then, as real traffic would.
    if (n % 100 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('the remote broker stops and starts in the middle of a QoS 1 stream', { timeout: 180_000 }, () => {
  const temp = tempDir('bridge-restart')
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    temp.remove()
  })

  test('a Roost bridge delivers every message, in order per topic (Mosquitto\'s own bridge for comparison)', async (t) => {
    const roostDir = path.join(temp.dir, 'roost')
    const mosquittoDir = path.join(temp.dir, 'mosquitto')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(roostDir)
    mkdirSync(mosquittoDir)

    // Roost → mosquitto.
    const remote = await startRemote(roostDir)
    cleanups.push(() => remote.stop())
    const counter = new Counter(remote.port)
    cleanups.push(() => counter.client.endAsync(true))
    await counter.ready()
    const roost = await startBridgingBroker([{
      name: 'stream', addresses: [`127.0.0.1:${remote.port}`], remoteClientId: 'roost-stream', restartTimeoutSec: 0.2, topics: [{ pattern: 'stream/#', direction: 'out', qos: 1 }]
    }], { maxQueuedMessages: 20_000 })
    cleanups.push(() => roost.broker.close())
    await bridgeReaches(roost.broker, 'stream', 'connected')
    const roostPublisher = await connectPublisher(roost.port)
    cleanups.push(() => roostPublisher.endAsync(true))
    await stream(remote, async (topic, n) => { await roostPublisher.publishAsync(topic, String(n), { qos: 1 }) })
    await counter.drained()
    const roostTally = counter.tally()
    t.diagnostic(`Roost bridge: ${JSON.stringify(roostTally)}, dropped by the hold: ${roost.broker.bridgeStates()[0]?.dropped ?? 0}`)

    // mosquitto → mosquitto, the same stream.
    const remote2 = await startRemote(mosquittoDir)
    cleanups.push(() => remote2.stop())
    const counter2 = new Counter(remote2.port)
    cleanups.push(() => counter2.client.endAsync(true))
    await counter2.ready()
    const local2 = await startMosquitto(mosquittoDir, [
      'max_queued_messages 20000',
      'connection stream', `address 127.0.0.1:${remote2.port}`, 'remote_clientid mosquitto-stream', 'cleansession false', 'restart_timeout 1',
      'try_private true', 'topic stream/# out 1'
    ])
    cleanups.push(() => local2.stop())
    const publisher = await connectPublisher(local2.port)
    cleanups.push(() => publisher.endAsync(true))
    // Mosquitto's bridge must be up before the stream starts, as Roost's was.
    const probe = mqtt.connect({ host: '127.0.0.1', port: remote2.port, clientId: 'probe', reconnectPeriod: 0 })
    cleanups.push(() => probe.endAsync(true))
    await probe.subscribeAsync('$SYS/broker/connection/mosquitto-stream/state', { qos: 1 })
    await new Promise<void>((resolve) => probe.on('message', (_topic, payload) => { if (payload.toString() === '1') resolve() }))
    await stream(remote2, async (topic, n) => { await publisher.publishAsync(topic, String(n), { qos: 1 }) })
    await counter2.drained()
    const mosquittoTally = counter2.tally()
    t.diagnostic(`Mosquitto bridge: ${JSON.stringify(mosquittoTally)}`)

    assert.deepEqual({ lost: roostTally.lost, outOfOrder: roostTally.outOfOrder }, { lost: 0, outOfOrder: 0 })
    // Both runs counted the same stream: what arrived and what did not add up to it.
    assert.equal(mosquittoTally.distinct + mosquittoTally.lost, TOTAL)
  })
})
