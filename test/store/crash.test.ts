// Kill -9 under load: a real `roost` process with persistence true (persistence_sync always), four
// publishers (MQTT.js and mosquitto_pub, QoS 1 and QoS 2), two persistent subscribers (MQTT.js v4
// always reconnecting, MQTT.js v5 going offline and online), and SIGKILL at random moments, 22
// times. Afterwards every message a publisher had acknowledged (PUBACK, PUBCOMP, or mosquitto_pub
// exiting 0) has reached every persistent subscriber: lost = 0; no QoS 2 message arrived twice;
// the retained message is the last one acknowledged.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { freePort, ROOT, runCommand, startRoost, type RoostProcess } from '../cli/helpers'
import { seededRandom } from '../engine/bad-input/prng'

const KILLS = 22
/** Bounds on every wait, so a broken run fails instead of hanging; never a timing assertion. */
const DRAIN_MS = 60_000

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** MQTT.js closes its stores when a client ends; this one outlives its clients. */
class KeptStore extends mqtt.Store {
  override close (callback: () => void): this {
    callback()
    return this
  }
}

/** What one subscriber received: how many times each payload arrived. */
class Received {
  readonly counts = new Map<string, number>()
  add (payload: string): void { this.counts.set(payload, (this.counts.get(payload) ?? 0) + 1) }
}

test(`SIGKILL ${KILLS} times under QoS 1 and 2 load: every acknowledged message reaches every persistent subscriber, QoS 2 exactly once`, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-crash-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const port = await freePort()
  const conf = path.join(dir, 'roost.conf')
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/data/`,
    'max_queued_messages 0', 'sys_interval 0', ''].join('\n'))
  const next = seededRandom(20261203)
  let roost: RoostProcess | undefined
  const start = async (): Promise<void> => {
    roost = startRoost(['-c', conf], ROOT, path.join(ROOT, 'bin', 'roost.js'))
    await roost.waitForOutput('running')
  }
  t.after(() => { roost?.kill() })
  await start()

  const url = `mqtt://127.0.0.1:${port}`
  const common = { reconnectPeriod: 50, connectTimeout: 2000, resubscribe: false }
  const online = new Received()
  const toggling = new Received()
  const s1 = mqtt.connect(url, { ...common, clientId: 'crash-online', clean: false })
  s1.on('message', (_topic, payload) => { online.add(payload.toString()) })
  await new Promise((resolve) => s1.once('connect', resolve))
  await s1.subscribeAsync('crash/#', { qos: 2 })
  // The v5 subscriber goes offline and comes back as a new client object over the same incoming
  // store, so the QoS 2 messages it has answered with PUBREC are still known when PUBREL comes.
  const incomingStore = new KeptStore()
  const connectToggling = async (): Promise<mqtt.MqttClient> => {
    const client = mqtt.connect(url, { ...common, reconnectPeriod: 0, clientId: 'crash-toggling', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, incomingStore })
    // Listening before CONNACK: the queued messages follow it at once.
    client.on('message', (_topic, payload) => { toggling.add(payload.toString()) })
    return await new Promise((resolve, reject) => {
      client.once('connect', () => { client.options.reconnectPeriod = common.reconnectPeriod; resolve(client) })
      client.once('error', (error) => { client.end(true); reject(error) })
      client.once('close', () => { if (!client.connected) reject(new Error('closed before CONNACK')) })
    })
  }
  let s2 = await connectToggling()
  await s2.subscribeAsync('crash/#', { qos: 2 })
  t.after(() => { s1.end(true); s2.end(true) })

  const acked = new Map<string, 1 | 2>()
  let lastRetainedSeq = -1
  let producing = true
  const pending = new Set<Promise<unknown>>()

  /** An MQTT.js publisher keeping a few messages in flight; QoS 1 ones are retained on one topic. */
  const mqttjsPublisher = async (name: string, qos: 1 | 2): Promise<void> => {
    const client = await mqtt.connectAsync(url, { ...common, clientId: name, clean: false })
    t.after(() => { client.end(true) })
    let failures = 0
    for (let seq = 0; producing; seq++) {
      const payload = `${name}:${seq}`
      const sent = client.publishAsync(qos === 1 ? 'crash/retained' : `crash/${name}`, payload, { qos, retain: qos === 1 }).then(() => {
        acked.set(payload, qos)
        if (qos === 1) lastRetainedSeq = Math.max(lastRetainedSeq, seq)
      }, () => { failures++ })
      pending.add(sent)
      void sent.finally(() => pending.delete(sent))
      if (pending.size >= 10) await Promise.race(pending)
      // Refused at once (the client is between connections): wait for it rather than spin.
      if (failures > 0) {
        failures = 0
        await sleep(50)
      }
    }
  }

  /** mosquitto_pub, one process per message: acknowledged when it exits 0. */
  const mosquittoPublisher = async (name: string, qos: 1 | 2): Promise<void> => {
    for (let seq = 0; producing; seq++) {
      const payload = `${name}:${seq}`
      const result = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', name, '-q', String(qos), '-t', `crash/${name}`, '-m', payload])
      if (result.code === 0) acked.set(payload, qos)
      else await sleep(20)
    }
  }

  const toggle = async (): Promise<void> => {
    while (producing) {
      await sleep(100 + next() * 400)
      await s2.endAsync()
      await sleep(100 + next() * 400)
      // The broker may be down right now: try again until it is back (bounded).
      for (let attempt = 0; attempt < 100; attempt++) {
        const back = await connectToggling().catch(() => undefined)
        if (back !== undefined) {
          s2 = back
          break
        }
        await sleep(100)
      }
    }
  }

  const load = Promise.all([mqttjsPublisher('js-q1', 1), mqttjsPublisher('js-q2', 2), mosquittoPublisher('mp-q1', 1), mosquittoPublisher('mp-q2', 2), toggle()])
  for (let kill = 0; kill < KILLS; kill++) {
    await sleep(300 + next() * 700)
    roost?.child.kill('SIGKILL')
    await roost?.exited
    await sleep(next() * 100)
    await start()
  }
  producing = false
  await load

  // Drain: the publishers' last messages are acknowledged, the subscribers catch up.
  const deadline = Date.now() + DRAIN_MS
  while (pending.size > 0 && Date.now() < deadline) await sleep(50)
  const missing = (received: Received): string[] => [...acked.keys()].filter((payload) => !received.counts.has(payload))
  while ((missing(online).length > 0 || missing(toggling).length > 0) && Date.now() < deadline) await sleep(100)

  const byPublisher = (name: string): number => [...acked.keys()].filter((payload) => payload.startsWith(name)).length
  for (const name of ['js-q1', 'js-q2', 'mp-q1', 'mp-q2']) assert.ok(byPublisher(name) > 0, `${name} had nothing acknowledged`)
  for (const [who, received] of [['online', online], ['toggling', toggling]] as const) {
    assert.deepEqual(missing(received), [], `lost by the ${who} subscriber, of ${acked.size} acknowledged`)
    const duplicated = [...received.counts].filter(([payload, count]) => count > 1 && acked.get(payload) === 2)
    assert.deepEqual(duplicated, [], `QoS 2 duplicates at the ${who} subscriber`)
  }
  const reader = await mqtt.connectAsync(url, { clientId: 'crash-reader', clean: true })
  t.after(() => { reader.end(true) })
  const retained = new Promise<string>((resolve) => reader.once('message', (_topic, payload) => { resolve(payload.toString()) }))
  await reader.subscribeAsync('crash/retained', { qos: 1 })
  assert.equal(await retained, `js-q1:${lastRetainedSeq}`)
  t.diagnostic(`${acked.size} messages acknowledged across ${KILLS} kills: ${['js-q1', 'js-q2', 'mp-q1', 'mp-q2'].map((name) => `${name} ${byPublisher(name)}`).join(', ')}`)
})
