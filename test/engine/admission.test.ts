// One admission step for every way a message comes in (lib/routing/admit.ts): a client's
// PUBLISH, a Last Will and broker.publish() are refused by the same rules, each worded its own
// way (an acknowledgement code or a close, a log line, an error thrown in process).
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import { type BrokerOptions, createBroker, LOCAL_ORIGIN, type Message, type Origin, resolveOptions } from '../../lib'
import { BrokerCore } from '../../lib/core'
import { TypedEmitter } from '../../lib/events'
import { silentLogger } from '../../lib/logger'
import { admit } from '../../lib/routing/admit'
import { startBroker } from '../helpers/broker'
import { publishPacket } from '../helpers/raw-client'
import { connect5, nextOf } from '../mqtt5/v5'

const CLIENT = { clientId: 'dev', protocolVersion: 5 as const, cleanSession: true, keepaliveSec: 0 }
const ORIGINS: Array<[string, Origin]> = [
  ['PUBLISH', { kind: 'client', clientId: 'dev' }],
  ['will', { kind: 'will', clientId: 'dev' }],
  ['in-process publish', LOCAL_ORIGIN]
]
const NOT_UTF8 = Buffer.from([0xc3, 0x28])

test('every rule refuses a PUBLISH, a will and an in-process publish alike, with the same reason code', () => {
  const cases: Array<{ options: Partial<BrokerOptions>, message: Omit<Message, 'origin' | 'id'>, rule: string, reasonCode: number }> = [
    { options: { maxQos: 1 }, message: { topic: 'a', payload: Buffer.from('x'), qos: 2, retain: false }, rule: 'maxQos', reasonCode: 0x9b },
    { options: { messageSizeLimit: 4 }, message: { topic: 'a', payload: Buffer.from('12345'), qos: 0, retain: false }, rule: 'size', reasonCode: 0x95 },
    { options: { maxTopicLevels: 2 }, message: { topic: 'a/b/c', payload: Buffer.from('x'), qos: 0, retain: false }, rule: 'levels', reasonCode: 0x90 },
    { options: {}, message: { topic: '$SYS/broker/uptime', payload: Buffer.from('x'), qos: 0, retain: false }, rule: 'sys', reasonCode: 0x87 },
    { options: { retainAvailable: false }, message: { topic: 'a', payload: Buffer.from('x'), qos: 0, retain: true }, rule: 'retain', reasonCode: 0x9a },
    { options: {}, message: { topic: 'a', payload: NOT_UTF8, qos: 0, retain: false, properties: { payloadFormatIndicator: true } }, rule: 'payloadFormat', reasonCode: 0x99 }
  ]
  for (const { options, message, rule, reasonCode } of cases) {
    const core = new BrokerCore(resolveOptions(options), silentLogger, [], new TypedEmitter())
    for (const [way, origin] of ORIGINS) {
      const client = origin.kind === 'local' ? undefined : CLIENT
      const refused = admit(core, { ...message, id: 0, origin }, client)
      assert.deepEqual([refused?.rule, refused?.reasonCode], [rule, reasonCode], `${rule} for a ${way}`)
    }
  }
})

test('the publish authorizers answer for clients and wills; the in-process API is the embedding program and is not asked', () => {
  const asked: string[] = []
  const core = new BrokerCore(resolveOptions({}), silentLogger, [{ authorizePublish: (client, topic) => { asked.push(`${client.clientId} ${topic}`); return false } }], new TypedEmitter())
  const message = { id: 0, topic: 'locked', payload: Buffer.from('x'), qos: 0 as const, retain: false }
  assert.equal(admit(core, { ...message, origin: ORIGINS[0]?.[1] }, CLIENT)?.rule, 'denied')
  assert.equal(admit(core, { ...message, origin: ORIGINS[1]?.[1] }, CLIENT)?.rule, 'denied')
  assert.equal(admit(core, { ...message, origin: LOCAL_ORIGIN }, undefined), undefined)
  assert.deepEqual(asked, ['dev locked', 'dev locked'])
})

test('$SYS is read-only on the wire too: PUBLISH dropped, will dropped, broker.publish() throws', async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 0 })
  const watcher = await h.client({ clientId: 'watcher' })
  await watcher.subscribe('$SYS/#', 0)
  const dev = await h.client({ clientId: 'dev', will: { topic: '$SYS/broker/will', payload: 'gone' } })
  dev.send(publishPacket('$SYS/broker/publish', 'x', 1, { messageId: 1 }))
  await dev.expectPacket({ cmd: 'puback', messageId: 1 })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.destroy()
  assert.equal((await gone)[0].willPublished, false)
  assert.throws(() => h.broker.publish({ topic: '$SYS/broker/local', payload: 'x' }), /^Error: Publish to "\$SYS\/broker\/local" refused: \$SYS is read-only$/)
  await watcher.expectNothingPending()
  assert.deepEqual(h.log.lines.filter((line) => line.startsWith('Dropped')), [
    "Dropped PUBLISH from dev to '$SYS/broker/publish': $SYS is read-only.",
    "Dropped will of dev to '$SYS/broker/will': $SYS is read-only."
  ])
})

test('a payload that breaks its UTF-8 promise: PUBACK 0x99 for an MQTT 5 PUBLISH, no will, an error in process', async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 0 })
  const { client: watcher } = await connect5(h, { clientId: 'watcher' })
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'utf8/#', qos: 1 }] })
  await nextOf(watcher, 'suback')
  const will = { topic: 'utf8/will', payload: NOT_UTF8, qos: 0 as const, retain: false, properties: { payloadFormatIndicator: true } }
  const { client: dev } = await connect5(h, { clientId: 'dev', will })
  dev.send({ cmd: 'publish', topic: 'utf8/publish', payload: NOT_UTF8, qos: 1, messageId: 5, retain: false, dup: false, properties: { payloadFormatIndicator: true } })
  assert.equal((await nextOf<mqttPacket.IPubackPacket>(dev, 'puback')).reasonCode, 0x99)
  const gone = once(h.broker, 'clientDisconnected')
  await dev.destroy()
  assert.equal((await gone)[0].willPublished, false)
  assert.throws(() => h.broker.publish({ topic: 'utf8/local', payload: NOT_UTF8, properties: { payloadFormatIndicator: true } }),
    /refused: payload format indicator 1 with a payload that is not UTF-8/)
  // Within the rules, each way in still delivers.
  h.broker.publish({ topic: 'utf8/local', payload: 'ok', properties: { payloadFormatIndicator: true } })
  assert.equal((await nextOf<mqttPacket.IPublishPacket>(watcher, 'publish')).topic, 'utf8/local')
})

test('broker.publish() is held to max_qos, message_size_limit and retain_available like a client', () => {
  const broker = createBroker({ maxQos: 1, messageSizeLimit: 4, retainAvailable: false })
  assert.throws(() => broker.publish({ topic: 'a', payload: 'x', qos: 2 }), /refused: QoS 2 is over max_qos 1/)
  assert.throws(() => broker.publish({ topic: 'a', payload: '12345' }), /refused: message_size_limit is 4/)
  assert.throws(() => broker.publish({ topic: 'a', payload: 'x', retain: true }), /refused: retain_available is false/)
  const got: string[] = []
  broker.subscribe('a', 1, (message) => got.push(`${message.qos} ${message.payload.toString()}`))
  broker.publish({ topic: 'a', payload: '1234', qos: 1 })
  assert.deepEqual(got, ['1 1234'])
})
