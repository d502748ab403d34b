// Authentication (users table, allow_anonymous, the authenticate hook) and the authorizePublish /
// authorizeSubscribe hooks, as a client sees them on the wire.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AuthenticateRequest, ClientInfo } from '../../lib'
import { startBroker } from '../helpers/broker'
import { connectPacket, type ConnectOptions, publishPacket } from '../helpers/raw-client'
import type { Harness } from '../helpers/broker'

/** Sends CONNECT and asserts the refusal: CONNACK with `returnCode`, then the close [MQTT-3.2.2-5]. */
async function expectRefused (h: Harness, options: ConnectOptions, returnCode: number): Promise<void> {
  const client = await h.open()
  client.send(connectPacket(options))
  await client.expectPacket({ cmd: 'connack', returnCode, sessionPresent: false })
  await client.expectClosed()
}

test('users table: the right password is accepted, a wrong one gets CONNACK 4', async (t) => {
  const h = await startBroker(t, { users: { alice: 's3cret' } })
  const alice = await h.client({ clientId: 'a', username: 'alice', password: 's3cret' })
  await alice.expectNothingPending()
  await expectRefused(h, { clientId: 'b', username: 'alice', password: 'wrong' }, 4)
  await expectRefused(h, { clientId: 'c', username: 'alice' }, 4)
  await expectRefused(h, { clientId: 'd', username: 'mallory', password: 's3cret' }, 4)
  assert.deepEqual(h.broker.clients().map((c) => [c.clientId, c.username]), [['a', 'alice']])
})

test('allowAnonymous false: no username gets CONNACK 5; a known user is accepted', async (t) => {
  const h = await startBroker(t, { allowAnonymous: false, users: { bob: 'pw' } })
  await expectRefused(h, { clientId: 'anon' }, 5)
  const bob = await h.client({ clientId: 'bob-1', username: 'bob', password: 'pw' })
  await bob.expectNothingPending()
})

test('allowAnonymous true: a client without username is accepted alongside a users table', async (t) => {
  const h = await startBroker(t, { allowAnonymous: true, users: { bob: 'pw' } })
  const anon = await h.client({ clientId: 'anon' })
  await anon.expectNothingPending()
})

test('a refused CONNECT emits clientRefused and never clientConnected', async (t) => {
  const h = await startBroker(t, { users: { alice: 's3cret' } })
  const refused: unknown[] = []
  let connected = 0
  h.broker.on('clientRefused', (event) => refused.push(event))
  h.broker.on('clientConnected', () => connected++)
  await expectRefused(h, { clientId: 'intruder', username: 'alice', password: 'guess' }, 4)
  assert.deepEqual(refused, [{ clientId: 'intruder', username: 'alice', remoteAddress: '127.0.0.1', reasonCode: 0x86, reason: 'bad username or password' }])
  assert.equal(connected, 0)
})

test('an async authenticate hook gets the credentials and decides', async (t) => {
  const requests: AuthenticateRequest[] = []
  const h = await startBroker(t, {}, {
    auth: {
      authenticate: async (request) => {
        requests.push(request)
        await new Promise((resolve) => setImmediate(resolve))
        if (request.username === 'denied') return 5
        if (request.username === 'zero') return 0
        return request.password?.toString() === 'open sesame'
      }
    }
  })
  const ok = await h.client({ clientId: 'hooked', username: 'ali', password: 'open sesame' })
  await ok.expectNothingPending()
  await expectRefused(h, { clientId: 'hooked-2', username: 'ali', password: 'nope' }, 4)
  await expectRefused(h, { clientId: 'hooked-3', username: 'denied', password: 'open sesame' }, 5)
  // A numeric 0 is the CONNACK code for "accepted".
  const zero = await h.client({ clientId: 'hooked-4', username: 'zero' })
  await zero.expectNothingPending()
  assert.deepEqual(requests[0], { clientId: 'hooked', username: 'ali', password: Buffer.from('open sesame'), remoteAddress: '127.0.0.1', listenerIndex: 0 })
  assert.equal(requests.length, 4)
})

test('an authenticate hook that throws or rejects gets CONNACK 3 and the broker keeps serving', async (t) => {
  const h = await startBroker(t, {}, {
    auth: {
      authenticate: (request) => {
        if (request.clientId === 'throws') throw new Error('directory offline')
        if (request.clientId === 'rejects') return Promise.reject(new Error('directory offline'))
        return true
      }
    }
  })
  await expectRefused(h, { clientId: 'throws' }, 3)
  await expectRefused(h, { clientId: 'rejects' }, 3)
  const fine = await h.client({ clientId: 'fine' })
  await fine.expectNothingPending()
  assert.equal(h.log.lines.filter((line) => line.includes('Authentication hook failed')).length, 2)
})

test('authorizeSubscribe: false gets SUBACK 0x80 for that filter only; a lower QoS is granted as given', async (t) => {
  const calls: Array<[string, string, number]> = []
  const h = await startBroker(t, {}, {
    auth: {
      authorizeSubscribe: (client: ClientInfo, filter, qos) => {
        calls.push([client.clientId, filter, qos])
        if (filter.startsWith('secret/')) return false
        if (filter === 'capped') return 1
        return qos
      }
    }
  })
  const sub = await h.client({ clientId: 'sub' })
  sub.send({
    cmd: 'subscribe',
    messageId: 3,
    subscriptions: [{ topic: 'open', qos: 2 }, { topic: 'secret/#', qos: 1 }, { topic: 'capped', qos: 2 }]
  })
  await sub.expectPacket({ cmd: 'suback', messageId: 3, granted: [2, 0x80, 1] })
  assert.deepEqual(calls, [['sub', 'open', 2], ['sub', 'secret/#', 1], ['sub', 'capped', 2]])

  // The refused filter delivers nothing; the capped one delivers at QoS 1.
  const pub = await h.client({ clientId: 'pub' })
  pub.send({ cmd: 'publish', topic: 'secret/plans', payload: 'x', qos: 0, retain: false, dup: false })
  pub.send({ cmd: 'publish', topic: 'capped', payload: 'y', qos: 2, retain: false, dup: false, messageId: 1 })
  await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
  await sub.expectPacket({ cmd: 'publish', topic: 'capped', payload: Buffer.from('y'), qos: 1, retain: false, dup: false, messageId: 1 })
})

test('authorizePublish: a denied message is acknowledged but not delivered', async (t) => {
  const h = await startBroker(t, {}, {
    auth: { authorizePublish: (client, topic) => !(client.clientId === 'pub' && topic.startsWith('forbidden/')) }
  })
  const sub = await h.client({ clientId: 'sub' })
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 2 }] })
  await sub.expectPacket({ cmd: 'suback', messageId: 1, granted: [2] })
  const pub = await h.client({ clientId: 'pub' })
  pub.send({ cmd: 'publish', topic: 'forbidden/a', payload: 'no', qos: 1, retain: false, dup: false, messageId: 10 })
  await pub.expectPacket({ cmd: 'puback', messageId: 10 })
  pub.send({ cmd: 'publish', topic: 'forbidden/b', payload: 'no', qos: 2, retain: false, dup: false, messageId: 11 })
  await pub.expectPacket({ cmd: 'pubrec', messageId: 11 })
  pub.send({ cmd: 'pubrel', messageId: 11 })
  await pub.expectPacket({ cmd: 'pubcomp', messageId: 11 })
  pub.send({ cmd: 'publish', topic: 'allowed', payload: 'yes', qos: 0, retain: false, dup: false })
  await pub.expectNothingPending()
  // The first thing the subscriber sees is the allowed message: the denied ones never came.
  await sub.expectPacket({ cmd: 'publish', topic: 'allowed', payload: Buffer.from('yes'), qos: 0, retain: false, dup: false })
  await sub.expectNothingPending()
  assert.equal(h.broker.retainedCount, 0)
})

test('authorization hooks that throw deny, are reported, and never crash the broker or close the client', async (t) => {
  const h = await startBroker(t, {}, {
    auth: {
      authorizePublish: (client, topic) => {
        if (topic === 'acl/down' || client.clientId === 'dev') throw new Error('acl service down')
        return true
      },
      authorizeSubscribe: (_client, filter, qos) => {
        if (filter === 'acl/#') throw new Error('acl service down')
        return qos
      }
    }
  })
  const errors: Array<[string | undefined, string]> = []
  h.broker.on('error', ({ error, clientId }) => errors.push([clientId, error.message]))
  const sub = await h.client({ clientId: 'sub' })
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'acl/#', qos: 1 }, { topic: '#', qos: 0 }] })
  await sub.expectPacket({ cmd: 'suback', messageId: 1, granted: [0x80, 0] })
  sub.send(publishPacket('acl/down', 'x', 1, { messageId: 2 }))
  await sub.expectPacket({ cmd: 'puback', messageId: 2 })
  // The will's authorization runs while the socket closes: a throw there must not escape.
  const dev = await h.client({ clientId: 'dev', will: { topic: 'lwt/dev', payload: 'gone' } })
  // Not events.once(): it rejects on the 'error' event this test expects.
  const gone = new Promise<boolean>((resolve) => h.broker.once('clientDisconnected', (event) => resolve(event.willPublished)))
  await dev.destroy()
  assert.equal(await gone, false)
  sub.send(publishPacket('fine', 'y', 0))
  await sub.expectPacket(publishPacket('fine', 'y', 0))
  assert.deepEqual(errors, [['sub', 'acl service down'], ['sub', 'acl service down'], ['dev', 'acl service down']])
  assert.equal(h.log.lines.filter((line) => line.startsWith('Authorization hook failed for')).length, 3)
})
