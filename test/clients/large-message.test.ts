// One large message is not a stalled consumer: a 30 MB QoS 1 message from mosquitto_pub reaches
// subscribers that read, over MQTT 3.1.1 (mosquitto_sub) and MQTT 5 (MQTT.js and mosquitto_sub -V
// mqttv5), whole and unchanged. max_packet_size is set explicitly so the test holds whatever the
// default limit is.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import { makeTempDir } from '../cli/helpers'
import { ProcessPool } from './processes'
import { ClientPool, type RunningBroker, startBroker, subscribed } from './support'

const MESSAGE_BYTES = 30 * 1024 * 1024
const MAX_PACKET_BYTES = 64 * 1024 * 1024
/** Seconds mosquitto_sub waits for its message before exiting with an error: a hang guard only. */
const GIVE_UP_SEC = '60'

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

describe('a 30 MB QoS 1 message to subscribers that read', { timeout: 120_000 }, () => {
  let running: RunningBroker
  const processes = new ProcessPool()
  const pool = new ClientPool()
  const temp = makeTempDir()
  // Printable, so mosquitto_sub's output can be compared as text.
  const payload = randomBytes(MESSAGE_BYTES).toString('base64').slice(0, MESSAGE_BYTES)
  const payloadFile = path.join(temp.dir, 'large.txt')
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(running.port)]

  before(async () => {
    writeFileSync(payloadFile, payload)
    running = await startBroker({ maxPacketSize: MAX_PACKET_BYTES })
  })
  afterEach(async () => {
    await processes.killAll()
    await pool.endAll()
  })
  after(async () => {
    await running.broker.close()
    temp.remove()
  })

  for (const [label, version] of [['MQTT 3.1.1', 'mqttv311'], ['MQTT 5', 'mqttv5']] as const) {
    test(`reaches mosquitto_sub (${label}) whole, and the publisher gets its PUBACK`, async () => {
      const id = `large-sub-${version}`
      const subscriber = processes.start('mosquitto_sub', [...at(), '-V', version, '-i', id, '-t', 'large/#', '-q', '1', '-C', '1', '-W', GIVE_UP_SEC])
      await subscribed(running.broker, id)
      const published = await processes.run('mosquitto_pub', [...at(), '-q', '1', '-t', 'large/cli', '-f', payloadFile])
      assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
      const got = await subscriber.finished
      assert.equal(got.code, 0, got.stderr)
      assert.equal(got.stdout.length, MESSAGE_BYTES + 1)
      assert.equal(sha256(got.stdout), sha256(payload + '\n'))
    })
  }

  test('reaches an MQTT.js MQTT 5 subscriber whole, followed by the next message', async () => {
    const reader = await pool.connect(running.port, { clientId: 'large-mqttjs', protocolVersion: 5 })
    await reader.client.subscribeAsync('large/#', { qos: 1 })
    const published = await processes.run('mosquitto_pub', [...at(), '-V', 'mqttv5', '-q', '1', '-t', 'large/mqttjs', '-f', payloadFile])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    await processes.run('mosquitto_pub', [...at(), '-q', '1', '-t', 'large/next', '-m', 'small'])
    const [large, next] = await reader.inbox.waitFor(2)
    assert.equal(large?.topic, 'large/mqttjs')
    assert.equal(large?.qos, 1)
    assert.equal(sha256(large?.payload ?? ''), sha256(payload))
    assert.deepEqual([next?.topic, next?.payload.toString()], ['large/next', 'small'])
    assert.equal(reader.client.connected, true)
  })
})
