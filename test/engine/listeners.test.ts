// Listeners by protocol (lib/transport/listeners.ts) and Broker.accept(stream), the one entry for
// any transport: a whole MQTT conversation over an in-memory stream pair, with no socket at all.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, createBroker, type ListenerOptions } from '../../lib'
import { duplexPair } from '../helpers/duplex-pair'
import { publishPacket, RawClient } from '../helpers/raw-client'

test('Broker.accept serves MQTT on an in-memory duplex pair: CONNECT, SUBSCRIBE, PUBLISH both ways, close', async (t) => {
  const broker = createBroker({ listeners: [], sysIntervalSec: 0 })
  t.after(() => broker.close())
  const [brokerEnd, clientEnd] = duplexPair()
  broker.accept(brokerEnd)
  const client = RawClient.over(clientEnd)
  await client.connect({ clientId: 'in-memory' })
  assert.deepEqual(broker.clients().map((info) => [info.clientId, info.remoteAddress]), [['in-memory', 'unknown']])
  await client.subscribe('pair/#', 1)
  const local: string[] = []
  broker.subscribe('pair/#', 0, (message) => local.push(`${message.topic} ${message.payload.toString()}`))
  broker.publish({ topic: 'pair/from-process', payload: 'hello', qos: 1 })
  await client.expectPacket(publishPacket('pair/from-process', 'hello', 1, { messageId: 1 }))
  client.send({ cmd: 'puback', messageId: 1 })
  client.send(publishPacket('pair/from-client', 'hi', 1, { messageId: 9 }))
  // Routed (here back to its publisher) before it is acknowledged.
  await client.expectPacket(publishPacket('pair/from-client', 'hi', 1, { messageId: 2 }))
  await client.expectPacket({ cmd: 'puback', messageId: 9 })
  assert.deepEqual(local, ['pair/from-process hello', 'pair/from-client hi'])
  // close() ends this stream as it ends sockets.
  await broker.close()
  await client.whenClosed()
  assert.equal(broker.clientCount, 0)
})

test('a stream accepted while the broker closes is ended at once', async () => {
  const broker = createBroker({ listeners: [] })
  await broker.close()
  const [brokerEnd, clientEnd] = duplexPair()
  broker.accept(brokerEnd)
  assert.equal(brokerEnd.destroyed, true)
  assert.equal(clientEnd.destroyed, true)
})

test('protocol mqtt is a TCP listener; a protocol other than mqtt or websockets is a clear configuration error', async (t) => {
  const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1', protocol: 'mqtt' }], sysIntervalSec: 0 })
  t.after(() => broker.close())
  const [bound] = await broker.listen()
  assert.ok(bound !== undefined)
  const client = await RawClient.open(bound.port)
  await client.connect({ clientId: 'tcp' })
  await client.disconnect()
  for (const protocol of ['http', 'MQTT', 'Websockets', '']) {
    const listeners = [{ port: 1883, protocol }] as unknown as ListenerOptions[]
    assert.throws(() => createBroker({ listeners }), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.message, 'listeners.0.protocol must be equal to one of the allowed values')
      return true
    }, protocol)
  }
})
