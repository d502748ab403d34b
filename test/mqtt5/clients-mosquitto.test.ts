// Debian's mosquitto_pub / mosquitto_sub 2.0.11 in MQTT 5 mode (`-V mqttv5 -D <command> <property>
// <value>`) against the broker: every PUBLISH property they can set comes back as they set it
// (MQTT 5.0, 3.3.2.3), a subscription identifier (3.8.2.1.2), a topic alias from mosquitto_pub
// (3.3.2.3.4), persistent sessions with a Session Expiry Interval (3.1.2.11.2) and a will with a
// Will Delay Interval (3.1.3.2.2).
//
// Two things libmosquitto 2.0.11 cannot take, so they are covered with MQTT.js and paho instead:
// a PUBLISH with several Subscription Identifiers [MQTT-3.3.4-4] (its property reader refuses a
// repeated identifier as a duplicate and drops the connection), and a PUBLISH that uses a topic
// alias the broker set (its PUBLISH reader refuses an empty topic, although it sends a Topic
// Alias Maximum when asked to).
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { runPub, startSub } from './mosquitto-cli'
import { bounded, connectV5 } from './mqttjs'

const V5 = ['-V', 'mqttv5']
/** Topic | payload | user properties | content type | response topic | correlation data | expiry | format | subscription ids | QoS | retain */
const FORMAT = '%t|%p|%P|%C|%R|%D|%E|%F|%S|%q|%r'

const PUBLISH_PROPERTIES = [
  '-D', 'publish', 'user-property', 'site', 'north',
  '-D', 'publish', 'user-property', 'unit', 'kWh',
  '-D', 'publish', 'user-property', 'site', 'south',
  '-D', 'publish', 'content-type', 'text/plain',
  '-D', 'publish', 'response-topic', 'replies/meter',
  '-D', 'publish', 'correlation-data', 'req-17',
  '-D', 'publish', 'message-expiry-interval', '300',
  '-D', 'publish', 'payload-format-indicator', '1'
]

test('mosquitto_pub properties reach mosquitto_sub unchanged, user properties in order [MQTT-3.3.2-17] [MQTT-3.3.2-18]', async (t) => {
  const h = await startBroker(t)
  const sub = await startSub(t, h.broker, h.port, 'cli-sub', [...V5, '-t', 'meter/#', '-q', '1', '-C', '2', '-F', FORMAT, '-D', 'subscribe', 'subscription-identifier', '42'])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'meter/1', '-m', '21.5', '-q', '1', ...PUBLISH_PROPERTIES])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'meter/2', '-m', 'bare', '-q', '0'])
  assert.deepEqual(await sub.output, [
    // The expiry interval is what is left of it: all of it, as the message was not held.
    'meter/1|21.5|site:north unit:kWh site:south|text/plain|replies/meter|req-17|300|1|42|1|0',
    'meter/2|bare|||||||42|0|0'
  ])
})

test('an MQTT.js publisher and mosquitto_sub agree on every property', async (t) => {
  const h = await startBroker(t)
  const sub = await startSub(t, h.broker, h.port, 'cli-sub', [...V5, '-t', 'mix/#', '-q', '2', '-C', '1', '-F', FORMAT])
  const pub = await connectV5(t, h.port, { clientId: 'js-pub' })
  await pub.client.publishAsync('mix/a', 'from MQTT.js', {
    qos: 2,
    properties: { userProperties: { k: ['v1', 'v2'] }, contentType: 'a/b', responseTopic: 'back/here', correlationData: Buffer.from('cid'), messageExpiryInterval: 90, payloadFormatIndicator: false }
  })
  assert.deepEqual(await sub.output, ['mix/a|from MQTT.js|k:v1 k:v2|a/b|back/here|cid|90|0||2|0'])
})

test('mosquitto_pub properties reach an MQTT.js subscriber unchanged', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'js-sub' })
  await sub.client.subscribeAsync('meter/#', { qos: 2 })
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'meter/1', '-m', '21.5', '-q', '2', ...PUBLISH_PROPERTIES])
  const message = await sub.next()
  assert.deepEqual([message.topic, message.payload, message.packet.qos], ['meter/1', '21.5', 2])
  assert.deepEqual({ ...message.packet.properties, userProperties: { ...message.packet.properties?.userProperties } }, {
    userProperties: { site: ['north', 'south'], unit: 'kWh' },
    contentType: 'text/plain',
    responseTopic: 'replies/meter',
    correlationData: Buffer.from('req-17'),
    messageExpiryInterval: 300,
    payloadFormatIndicator: true
  })
})

test('a 3.1.1 mosquitto_sub receives an MQTT 5 message without its properties', async (t) => {
  const h = await startBroker(t)
  const sub = await startSub(t, h.broker, h.port, 'old-sub', ['-V', 'mqttv311', '-t', 'meter/#', '-q', '1', '-C', '1', '-F', FORMAT])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'meter/1', '-m', '21.5', '-q', '1', ...PUBLISH_PROPERTIES])
  assert.deepEqual(await sub.output, ['meter/1|21.5||||||||1|0'])
})

test('mosquitto_pub with a topic alias is understood [MQTT-3.3.2-12]', async (t) => {
  const h = await startBroker(t)
  const sub = await startSub(t, h.broker, h.port, 'cli-sub', [...V5, '-t', 'al/#', '-q', '1', '-C', '1', '-F', '%t|%p|%A'])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'al/set', '-m', 'via alias', '-q', '1', '-D', 'publish', 'topic-alias', '1'])
  // The alias belongs to the publisher's connection: the subscriber gets the topic.
  assert.deepEqual(await sub.output, ['al/set|via alias|'])
})

test('a persistent mosquitto_sub session (-c, session-expiry-interval) gets what was published while it was away, with its subscription identifier', async (t) => {
  const h = await startBroker(t)
  // -c makes mosquitto_sub send a Session Expiry Interval itself (-1 unless -x says otherwise), so
  // `-D connect session-expiry-interval` beside it is refused as a duplicate property: -x sets it.
  const session = [...V5, '-c', '-x', '60', '-t', 'away/#', '-q', '1', '-D', 'subscribe', 'subscription-identifier', '9']
  // -E: subscribe, then leave with DISCONNECT; the session lives on for 60 seconds.
  const first = await startSub(t, h.broker, h.port, 'keeper', [...session, '-E'])
  assert.deepEqual(await first.output, [])
  assert.equal(h.broker.clients().length, 0)
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'away/1', '-m', 'first', '-q', '1', '-D', 'publish', 'user-property', 'n', '1'])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'away/2', '-m', 'second', '-q', '1', '-D', 'publish', 'message-expiry-interval', '3600'])
  const connected = once(h.broker, 'clientConnected')
  const second = await startSub(t, h.broker, h.port, 'keeper', [...session, '-C', '2', '-F', '%t|%p|%P|%q|%S'])
  const [event] = await bounded(connected, 'clientConnected')
  assert.deepEqual([event.clientId, event.sessionPresent], ['keeper', true])
  assert.deepEqual(await second.output, ['away/1|first|n:1|1|9', 'away/2|second||1|9'])
})

test('a mosquitto_sub will with will-delay-interval waits for its delay (MQTT 5.0, 3.1.3.2.2)', async (t) => {
  const h = await startBroker(t)
  const watcher = await startSub(t, h.broker, h.port, 'watcher', [...V5, '-t', 'wills/#', '-q', '1', '-C', '1', '-F', '%t|%p|%P|%C|%q'])
  const dev = await startSub(t, h.broker, h.port, 'dev', [
    ...V5, '-t', 'dev/in', '-C', '1', '-D', 'connect', 'session-expiry-interval', '60',
    '--will-topic', 'wills/dev', '--will-payload', 'gone', '--will-qos', '1',
    '-D', 'will', 'will-delay-interval', '1', '-D', 'will', 'content-type', 'text/plain', '-D', 'will', 'user-property', 'why', 'lost'
  ])
  const gone = once(h.broker, 'clientDisconnected')
  // No DISCONNECT: the socket just closes.
  dev.child.kill('SIGKILL')
  const [event] = await bounded(gone, 'clientDisconnected')
  assert.deepEqual([event.clientId, event.willPublished], ['dev', false])
  const published = once(h.broker, 'willPublished')
  assert.deepEqual(await watcher.output, ['wills/dev|gone|why:lost|text/plain|1'])
  const [will] = await published
  assert.deepEqual(will, { clientId: 'dev', topic: 'wills/dev' })
})

test('mosquitto_sub with receive-maximum 1 gets every QoS 1 message, in order [MQTT-3.3.4-7] [MQTT-4.6.0-6]', async (t) => {
  const h = await startBroker(t)
  const sub = await startSub(t, h.broker, h.port, 'one-at-a-time', [...V5, '-t', 'rm/#', '-q', '1', '-C', '6', '-F', '%t|%p|%q', '-D', 'connect', 'receive-maximum', '1'])
  const pub = await connectV5(t, h.port, { clientId: 'js-pub' })
  // Published without waiting for each PUBACK: the broker holds them back one by one.
  await Promise.all([1, 2, 3, 4, 5, 6].map(async (i) => await pub.client.publishAsync(`rm/${i}`, String(i), { qos: 1 })))
  assert.deepEqual(await sub.output, [1, 2, 3, 4, 5, 6].map((i) => `rm/${i}|${i}|1`))
})

test('mosquitto_sub with maximum-packet-size is never sent a larger PUBLISH [MQTT-3.1.2-25]', async (t) => {
  const h = await startBroker(t)
  const sub = await startSub(t, h.broker, h.port, 'small', [...V5, '-t', 'mps/#', '-q', '1', '-C', '2', '-F', '%t|%p', '-D', 'connect', 'maximum-packet-size', '64'])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'mps/big', '-m', 'x'.repeat(100), '-q', '1'])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'mps/small', '-m', 'fits', '-q', '1'])
  await runPub(t, h.port, [...V5, '-i', 'cli-pub', '-t', 'mps/small', '-m', 'fits too', '-q', '0'])
  assert.deepEqual(await sub.output, ['mps/small|fits', 'mps/small|fits too'])
})
