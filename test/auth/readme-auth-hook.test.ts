// The README's custom Auth hook example, run as written: its code block is taken from the README,
// given the one function it leaves to the reader (isBanned) and a free port, and then MQTT.js
// clients check that it does what its comments say. An example that no longer fits the API fails
// here instead of in a user's hands.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { type Broker, createBroker } from '../../lib'
import { connectV5, publish } from '../mqtt5/mqttjs'

function readmeExample (): string {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Access control: a custom Auth hook'))
  const match = /```js\n([\s\S]*?)```/.exec(section)
  if (match?.[1] === undefined) throw new Error('the README has no code block under "Access control: a custom Auth hook"')
  return match[1]
}

test('the README\'s custom Auth hook example runs and does what its comments say', { timeout: 30_000 }, async (t) => {
  const code = readmeExample().replace('listeners: [{ port: 1883 }]', "listeners: [{ port: 0, host: '127.0.0.1' }]")
  assert.ok(code.includes("host: '127.0.0.1'"), 'the example no longer names port 1883 where the test expects it')
  const run = new Function('createBroker', 'isBanned', `${code}\nreturn broker`) as (create: typeof createBroker, isBanned: (address: string) => Promise<boolean>) => Broker
  const broker = run(createBroker, async (address) => address === '203.0.113.9')
  t.after(async () => { await broker.close() })
  const [bound] = await broker.listen()
  const port = bound?.port ?? 0
  const alice = await connectV5(t, port, { clientId: 'alice', username: 'alice', password: 's3cret' })
  assert.equal(((await publish(alice, 'home/kitchen/light', 'on', { qos: 1 })) as { reasonCode?: number }).reasonCode ?? 0, 0)
  await assert.rejects(publish(alice, 'home/attic/light', 'on', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
  const granted = await alice.client.subscribeAsync('home/#', { qos: 2 })
  assert.equal(granted[0]?.qos, 1)
  // bob moved to the attic: his deliveries follow the new room once the broker is told.
  const bob = await connectV5(t, port, { clientId: 'bob', username: 'bob', password: 'hunter2' })
  await bob.client.subscribeAsync('home/#', { qos: 1 })
  broker.publish({ topic: 'home/kitchen/light', payload: 'not bob\'s', qos: 1 })
  broker.publish({ topic: 'home/attic/light', payload: 'bob\'s', qos: 1 })
  const message = await bob.next()
  assert.deepEqual([message.topic, message.payload], ['home/attic/light', 'bob\'s'])
})
