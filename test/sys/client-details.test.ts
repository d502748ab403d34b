// broker.clientDetails(): what the editor's live view lists for each connected client.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { startBroker } from '../helpers/broker'

test('clientDetails lists each connected client with its address, protocol, subscriptions and connect time', async (t) => {
  const { broker, port } = await startBroker(t)
  const before = Date.now()
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'details-1', protocolVersion: 5, reconnectPeriod: 0, keepalive: 30 })
  t.after(async () => { await client.endAsync() })
  await client.subscribeAsync(['a/#', 'b/+'], { qos: 1 })
  await client.subscribeAsync('a/#', { qos: 0 })
  const after = Date.now()
  const [details] = broker.clientDetails()
  assert.ok(details !== undefined)
  const { connectedAtMs, remotePort, ...rest } = details
  assert.deepEqual(rest, {
    clientId: 'details-1',
    username: undefined,
    remoteAddress: '127.0.0.1',
    protocolVersion: 5,
    cleanSession: true,
    keepaliveSec: 30,
    listenerIndex: 0,
    // Subscribing to a/# again replaces the subscription, it does not add one [MQTT-3.8.4-3].
    subscriptions: 2
  })
  assert.equal(remotePort, (client.stream as unknown as { localPort: number }).localPort)
  assert.ok(connectedAtMs >= before && connectedAtMs <= after, `${connectedAtMs} not in [${before}, ${after}]`)
  await client.endAsync()
  await new Promise<void>((resolve) => { if (broker.clientCount === 0) resolve(); else broker.once('clientDisconnected', () => { resolve() }) })
  assert.deepEqual(broker.clientDetails(), [])
})
