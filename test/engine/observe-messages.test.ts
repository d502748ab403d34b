// broker.observeMessages and broker.forEachRetained: an in-process observer sees every routed
// message whole (payload, QoS, retain, MQTT 5 properties in order, origin) without a socket or a
// subscription, and the retained store's content, so a topic view can start from what came before.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { Message } from '../../lib'
import { startBroker } from '../helpers/broker'

interface Seen { topic: string, payload: string, qos: number, retain: boolean, origin?: string, contentType?: string, pairs?: Array<[string, string]> }

function summary (message: Readonly<Message>): Seen {
  const seen: Seen = { topic: message.topic, payload: message.payload.toString(), qos: message.qos, retain: message.retain }
  if (message.origin !== undefined) seen.origin = `${message.origin.kind}:${message.origin.clientId}`
  if (message.properties?.contentType !== undefined) seen.contentType = message.properties.contentType
  if (message.userPropertyPairs !== undefined) seen.pairs = message.userPropertyPairs
  return seen
}

describe('observing routed messages in process', () => {
  it('sees an MQTT 5 client\'s PUBLISH with its properties and user properties in order, and in-process ones, until stopped', async (t) => {
    const { broker, port } = await startBroker(t)
    const seen: Seen[] = []
    const stop = broker.observeMessages((message) => { seen.push(summary(message)) })
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'observed', protocolVersion: 5, reconnectPeriod: 0 })
    t.after(async () => { await client.endAsync() })
    // No subscriber at all: the observer still sees the message, it is not a subscription.
    await client.publishAsync('home/kitchen/temp', '{"t":21.5}', { qos: 1, retain: true, properties: { contentType: 'application/json', userProperties: { room: 'kitchen', unit: 'C' } } })
    broker.publish({ topic: 'home/flow', payload: 'from a flow', qos: 0 })
    assert.deepEqual(seen, [
      { topic: 'home/kitchen/temp', payload: '{"t":21.5}', qos: 1, retain: true, origin: 'client:observed', contentType: 'application/json', pairs: [['room', 'kitchen'], ['unit', 'C']] },
      { topic: 'home/flow', payload: 'from a flow', qos: 0, retain: false, origin: 'local:$local' }
    ])
    stop()
    broker.publish({ topic: 'home/flow', payload: 'unseen', qos: 0 })
    assert.equal(seen.length, 2)
  })

  it('an observer that throws is reported as an error event; other observers and subscribers still get the message', async (t) => {
    const { broker, port } = await startBroker(t)
    const errors: string[] = []
    broker.on('error', ({ error }) => { errors.push(error.message) })
    broker.observeMessages(() => { throw new Error('observer broke') })
    const topics: string[] = []
    broker.observeMessages((message) => { topics.push(message.topic) })
    const subscriber = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'still-served', reconnectPeriod: 0 })
    t.after(async () => { await subscriber.endAsync() })
    await subscriber.subscribeAsync('x/#', { qos: 1 })
    const received = new Promise<string>((resolve) => { subscriber.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
    broker.publish({ topic: 'x/1', payload: 'kept', qos: 1 })
    assert.equal(await received, 'kept')
    assert.deepEqual(topics, ['x/1'])
    assert.deepEqual(errors, ['observer broke'])
  })

  it('forEachRetained lists the retained messages held now, users\' and $SYS\'s; a cleared one is gone', async (t) => {
    const { broker } = await startBroker(t)
    broker.publish({ topic: 'a/b', payload: '1', retain: true })
    broker.publish({ topic: 'a/c', payload: '2', retain: true })
    broker.publish({ topic: 'a/c', payload: '', retain: true })
    broker.publish({ topic: 'z', payload: 'not retained' })
    const listed: string[] = []
    broker.forEachRetained((message) => { listed.push(`${message.topic}=${message.payload.toString()}`) })
    assert.deepEqual(listed.filter((entry) => !entry.startsWith('$SYS/')), ['a/b=1'])
    assert.ok(listed.some((entry) => entry.startsWith('$SYS/broker/version=')), 'the $SYS tree is listed too')
  })
})
