// A subscriber that stops reading must cost the broker that one connection, nothing more. The
// broker runs as the roost command in its own process, so a crash shows as a dead process; the
// stalled clients are Debian's paho-mqtt (MQTT 5) with their network loop stopped, the publisher
// is mosquitto_pub, the healthy reader MQTT.js. max_packet_size is set explicitly so the test
// holds whatever the default limit is.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { freePort, makeTempDir, runCommand, startRoost } from '../cli/helpers'
import { startPahoScript } from './paho-stalls'
import { ClientPool } from './support'

const MESSAGE_BYTES = 30 * 1024 * 1024
const MAX_PACKET_BYTES = 64 * 1024 * 1024

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

test('MQTT 5 subscribers that stop reading under a 30 MB QoS 1 message: the broker stays up, the publisher gets its PUBACK, a stuck id is taken over, keepalive expiry closes the other', { timeout: 90_000 }, async (t) => {
  const temp = makeTempDir()
  t.after(temp.remove)
  const port = await freePort()
  const config = temp.write('roost.conf', `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_packet_size ${MAX_PACKET_BYTES}\n`)
  const payload = randomBytes(MESSAGE_BYTES)
  const payloadFile = path.join(temp.dir, 'large.bin')
  writeFileSync(payloadFile, payload)
  const roost = startRoost(['-c', config])
  t.after(roost.kill)
  await roost.waitForOutput(' running\n')

  // A healthy MQTT 5 reader on the same filter: it must get everything and stay connected.
  const pool = new ClientPool()
  t.after(async () => { await pool.endAll() })
  const reader = await pool.connect(port, { clientId: 'reader', protocolVersion: 5 })
  await reader.client.subscribeAsync('#', { qos: 1 })

  // Two paho MQTT 5 subscribers on '#' with keepalive 5 whose network loop then stops.
  for (const id of ['stalled-a', 'stalled-b']) {
    const { first } = await startPahoScript(t, [String(port), 'stalled', id, '5', '#'])
    assert.deepEqual(first, { connack: 0, subscribed: [1] })
  }

  const published = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', 'large-pub', '-q', '1', '-t', 'large/one', '-f', payloadFile])
  // Exit 0: mosquitto_pub got its PUBACK, it was not disconnected for a subscriber's state.
  assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
  const [received] = await reader.inbox.waitFor(1)
  assert.ok(received !== undefined)
  assert.equal(received.topic, 'large/one')
  assert.equal(received.payload.length, MESSAGE_BYTES)
  assert.equal(sha256(received.payload), sha256(payload))

  // The stuck client id can be taken over [MQTT-3.1.4-2]: CONNACK 0, not 0x83.
  const takeover = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv5', '-i', 'stalled-b', '-q', '1', '-t', 'after/takeover', '-m', 'taken over'])
  assert.deepEqual(takeover, { code: 0, stdout: '', stderr: '' })
  await roost.waitForOutput('Client stalled-b taken over by a new connection.')

  // The other one is closed when its keepalive runs out (1.5 x 5 s), in a timer: the process lives on.
  await roost.waitForOutput('Client stalled-a (127.0.0.1) has exceeded timeout, disconnecting.')
  const later = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', 'after/expiry', '-m', 'still here'])
  assert.deepEqual(later, { code: 0, stdout: '', stderr: '' })
  const messages = await reader.inbox.waitForTopic('after/expiry')
  assert.deepEqual(messages.map((message) => message.topic), ['large/one', 'after/takeover', 'after/expiry'])
  assert.equal(reader.client.connected, true)
  assert.equal(roost.child.exitCode, null)
  assert.equal(roost.child.signalCode, null)
  // Only the two stalled clients were closed, and nothing failed inside the broker.
  assert.doesNotMatch(roost.stderr(), /internal error|RangeError|not reading/)
  assert.doesNotMatch(roost.stderr(), /Client (reader|large-pub)\b.*(disconnecting|protocol error)/)
})
