// Debian's Python paho-mqtt (1.6) in MQTT 5 mode against the broker, through
// test/mqtt5/paho/paho_v5.py: CONNACK properties, PUBLISH properties with interleaved repeated user
// properties (MQTT 5.0, 3.3.2.3), reason codes in SUBACK and UNSUBACK, No Local, and the
// request/response pattern built on Response Information (4.10), topic aliases from paho and a will
// sent on DISCONNECT 0x04. paho 1.6 hands on_publish only the packet id, so PUBACK reason codes are
// covered with MQTT.js.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { type TestContext, test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { bounded } from './mqttjs'

const SCRIPT = path.join(__dirname, 'paho', 'paho_v5.py')
/** Debian's interpreter: the one that has paho-mqtt installed. */
const PYTHON = '/usr/bin/python3'

async function runPaho (t: TestContext, port: number, scenario: string): Promise<unknown[]> {
  const child = spawn(PYTHON, [SCRIPT, String(port), scenario])
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  // The script bounds each of its own waits; this bounds the whole run.
  const [code] = await bounded(once(child, 'close') as Promise<[number | null]>, `paho ${scenario} to finish`)
  assert.equal(code, 0, `paho ${scenario} failed: ${stderr}${stdout}`)
  return stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown)
}

function pahoMessage (fields: Record<string, unknown>): Record<string, unknown> {
  return {
    content_type: null,
    correlation_data: '',
    payload_format: null,
    qos: 0,
    response_topic: null,
    retain: 0,
    subscription_ids: null,
    user_properties: [],
    ...fields
  }
}

test('paho reads the CONNACK properties: assigned identifier, response information, limits [MQTT-3.2.2-16]', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 15, maxTopicAlias: 3 })
  const [connack] = await runPaho(t, h.port, 'connack') as Array<{ properties: Record<string, unknown> }>
  const assigned = connack?.properties.AssignedClientIdentifier
  assert.match(String(assigned), /^auto-[0-9a-f-]{36}$/)
  assert.deepEqual(connack, {
    reason_code: 0,
    session_present: 0,
    properties: {
      AssignedClientIdentifier: assigned,
      ReceiveMaximum: 15,
      TopicAliasMaximum: 3,
      // The default packet limit, as Mosquitto 2.1 has it (MQTT 5.0, 3.2.2.3.6).
      MaximumPacketSize: 2_000_000,
      ResponseInformation: `responses/${String(assigned)}/`
    }
  })
})

test('paho PUBLISH properties come back unchanged at QoS 0, 1 and 2, user properties in order [MQTT-3.3.2-17] [MQTT-3.3.2-18]', async (t) => {
  const h = await startBroker(t)
  const sent = {
    topic: 'paho/meter',
    content_type: 'application/json',
    correlation_data: Buffer.from('\x00\x01req-9\xff', 'latin1').toString('hex'),
    payload_format: 1,
    response_topic: 'replies/paho',
    subscription_ids: [77],
    user_properties: [['site', 'north'], ['unit', 'kWh'], ['site', 'south']]
  }
  assert.deepEqual(await runPaho(t, h.port, 'properties'), [
    { suback: [2] },
    pahoMessage({ ...sent, payload: 'qos 0', qos: 0 }),
    pahoMessage({ ...sent, payload: 'qos 1', qos: 1 }),
    pahoMessage({ ...sent, payload: 'qos 2', qos: 2 })
  ])
})

test('paho sees SUBACK 0x8F and UNSUBACK 0x11 per filter, and No Local holds (MQTT 5.0, 3.9.3, 3.11.3)', async (t) => {
  const h = await startBroker(t)
  assert.deepEqual(await runPaho(t, h.port, 'acks'), [
    { suback: [1, 0x8f, 2] },
    { unsuback: [0x00, 0x11] },
    { published: true },
    pahoMessage({ topic: 'acks/two', payload: 'theirs', qos: 1 })
  ])
})

test('paho request/response over the Response Information prefix, correlation data echoed (MQTT 5.0, 4.10)', async (t) => {
  const h = await startBroker(t, { responseInformationRoot: 'rr' })
  assert.deepEqual(await runPaho(t, h.port, 'request-response'), [
    pahoMessage({ topic: 'rr/paho-requester/reply', payload: 'ping pong', qos: 1, correlation_data: Buffer.from('corr-42').toString('hex'), user_properties: [['handled-by', 'paho-responder']] })
  ])
})

test('paho topic aliases resolve, and its DISCONNECT 0x04 publishes the will with its properties (MQTT 5.0, 3.3.2.3.4, 3.14.2.1)', async (t) => {
  const h = await startBroker(t, { maxTopicAlias: 4 })
  const telemetry = (payload: string): Record<string, unknown> => pahoMessage({ topic: 'tele/dev/temp', payload, qos: 1 })
  assert.deepEqual(await runPaho(t, h.port, 'alias-and-will'), [
    { topic_alias_maximum: 4 },
    telemetry('first'),
    telemetry('second'),
    telemetry('third'),
    // Sent at once, so all of the expiry interval is left.
    { ...pahoMessage({ topic: 'tele/dev/status', payload: 'offline', qos: 1, content_type: 'text/plain', user_properties: [['cause', 'asked']] }), expiry: 3600 }
  ])
})
