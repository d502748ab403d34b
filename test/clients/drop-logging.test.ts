// QoS 0 messages to a consumer that cannot keep up are dropped and counted, with one log line when
// dropping starts and one with the count when it ends, never a line per message. The count shows
// in $SYS/broker/publish/messages/dropped (Mosquitto's name) and in the stats object the roost sys
// node emits. The publisher is MQTT.js; the slow consumers are a raw socket that stops and then
// resumes reading, and Debian's paho-mqtt with its network loop stopped.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type RecordingLogger, startBroker } from '../helpers/broker'
import { startPahoScript } from './paho-stalls'
import { ClientPool, type Inbox } from './support'

const FLOOD_MESSAGES = 10_000
/** Large enough that the flood (40 MB) overflows every kernel buffer on the way to the consumer. */
const PAYLOAD_BYTES = 4096
/** A hang guard for waits on the broker, not a timing. */
const GUARD_MS = 15_000

/** Resolves once the log has a line containing `text`; polls, bounded by GUARD_MS. */
async function logLine (log: RecordingLogger, text: string): Promise<string> {
  for (let waited = 0; waited < GUARD_MS; waited += 20) {
    const line = log.lines.find((candidate) => candidate.includes(text))
    if (line !== undefined) return line
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`no log line with '${text}' within ${GUARD_MS} ms:\n${log.lines.slice(-20).join('\n')}`)
}

/** Resolves once a message in the inbox has `value` as its payload. */
async function valueArrives (inbox: Inbox, value: string): Promise<void> {
  for (let count = 1; count < 1000; count++) {
    const [message] = (await inbox.waitFor(count)).slice(-1)
    if (message?.payload.toString() === value) return
  }
  throw new Error(`$SYS never showed ${value}`)
}

/** Publishes the flood at QoS 0, in batches so the publisher itself is never the bottleneck. */
async function flood (pool: ClientPool, port: number, topic: string): Promise<void> {
  const publisher = await pool.connect(port, { clientId: `flood-${topic}` })
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61)
  for (let start = 0; start < FLOOD_MESSAGES; start += 100) {
    await Promise.all(Array.from({ length: 100 }, async () => { await publisher.client.publishAsync(topic, payload, { qos: 0 }) }))
  }
  // A QoS 1 round trip through the broker: every message of the flood has been routed.
  await publisher.client.publishAsync('flood/barrier', 'done', { qos: 1 })
}

function dropLines (log: RecordingLogger, clientId: string): string[] {
  return log.lines.filter((line) => line.includes(`dropping outgoing messages for client ${clientId} `) ||
    line.includes(`being dropped for client ${clientId} `))
}

test('a slow QoS 0 consumer: two log lines for thousands of drops, the count in $SYS and the stats object', { timeout: 60_000 }, async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 1 })
  const pool = new ClientPool()
  t.after(async () => { await pool.endAll() })
  const sys = await pool.connect(h.port, { clientId: 'sys-watch' })
  await sys.client.subscribeAsync('$SYS/broker/publish/messages/dropped', { qos: 0 })

  const slow = await h.client({ clientId: 'slow' })
  await slow.subscribe('flood/#', 0)
  // From here on the consumer reads nothing.
  slow.socket.pause()
  const before = h.broker.stats.publishDropped
  await flood(pool, h.port, 'flood/slow')
  const dropped = h.broker.stats.publishDropped - before
  assert.ok(dropped >= 1000, `only ${dropped} of ${FLOOD_MESSAGES} dropped`)
  assert.deepEqual(dropLines(h.log, 'slow'), ['Outgoing messages are being dropped for client slow (slow consumer).'])

  // Reading again ends the run of drops: one line with the count.
  slow.socket.resume()
  const ended = await logLine(h.log, 'Stopped dropping outgoing messages for client slow')
  assert.equal(ended, `Stopped dropping outgoing messages for client slow (slow consumer): ${dropped} dropped.`)
  assert.equal(dropLines(h.log, 'slow').length, 2)
  assert.ok(h.log.lines.length < 30, `${h.log.lines.length} log lines`)

  const total = h.broker.stats.publishDropped
  assert.equal(h.broker.statsSnapshot().publish.dropped, total)
  await valueArrives(sys.inbox, String(total))
  t.diagnostic(`${dropped} of ${FLOOD_MESSAGES} messages dropped, ${h.log.lines.length} log lines in all`)
})

test('a paho subscriber that stops reading, then goes away: the count is logged when it leaves', { timeout: 60_000 }, async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 0 })
  const pool = new ClientPool()
  t.after(async () => { await pool.endAll() })
  const { child: paho, first } = await startPahoScript(t, [String(h.port), 'stalled', 'paho-slow', '60', 'flood/#'])
  assert.deepEqual(first, { connack: 0, subscribed: [1] })

  const before = h.broker.stats.publishDropped
  await flood(pool, h.port, 'flood/paho')
  const dropped = h.broker.stats.publishDropped - before
  assert.ok(dropped >= 1000, `only ${dropped} of ${FLOOD_MESSAGES} dropped`)
  assert.deepEqual(dropLines(h.log, 'paho-slow'), ['Outgoing messages are being dropped for client paho-slow (slow consumer).'])

  paho.kill('SIGKILL')
  const ended = await logLine(h.log, 'Stopped dropping outgoing messages for client paho-slow')
  assert.equal(ended, `Stopped dropping outgoing messages for client paho-slow (slow consumer): ${dropped} dropped.`)
  assert.equal(dropLines(h.log, 'paho-slow').length, 2)
})
