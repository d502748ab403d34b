// Auth as a chain (lib/auth/chain.ts): the built-in users table first, the embedder's hooks after,
// each answering allow, deny or no opinion. The first deny decides; an allow lets the next one
// still deny; when nobody has an opinion, allow_anonymous decides. Seen on the wire.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Auth, AuthenticateRequest } from '../../lib'
import { type Harness, startBroker } from '../helpers/broker'
import { connectPacket, type ConnectOptions, publishPacket } from '../helpers/raw-client'

/** Sends CONNECT and asserts the refusal: CONNACK with `returnCode`, then the close [MQTT-3.2.2-5]. */
async function expectRefused (h: Harness, options: ConnectOptions, returnCode: number): Promise<void> {
  const client = await h.open()
  client.send(connectPacket(options))
  await client.expectPacket({ cmd: 'connack', returnCode, sessionPresent: false })
  await client.expectClosed()
}

async function expectAccepted (h: Harness, options: ConnectOptions): Promise<void> {
  const client = await h.client(options)
  await client.expectNothingPending()
}

test('a denying hook after the users table: the table checks its users, the hook may still deny, and decides about the others', async (t) => {
  const asked: string[] = []
  const h = await startBroker(t, { users: { alice: 'pw' } }, {
    auth: {
      authenticate: (request: AuthenticateRequest) => {
        asked.push(request.clientId)
        if (request.clientId.startsWith('banned')) return 5
        if (request.username === 'guest') return true
        return undefined
      }
    }
  })
  // The table allows alice; the hook has no opinion.
  await expectAccepted(h, { clientId: 'a1', username: 'alice', password: 'pw' })
  // The table allows alice, the hook after it denies: a deny after an allow decides.
  await expectRefused(h, { clientId: 'banned-1', username: 'alice', password: 'pw' }, 5)
  // A wrong password: the table denies and the chain ends there (the hook is not asked).
  await expectRefused(h, { clientId: 'a2', username: 'alice', password: 'nope' }, 4)
  // A name the table does not know: the hook decides.
  await expectAccepted(h, { clientId: 'g1', username: 'guest' })
  // Nobody has an opinion: a name the users table does not know is refused, as without a hook.
  await expectRefused(h, { clientId: 'm1', username: 'mallory', password: 'pw' }, 4)
  // Anonymous: allow_anonymous (true by default) decides, unless the hook denies.
  await expectAccepted(h, { clientId: 'anon' })
  await expectRefused(h, { clientId: 'banned-2' }, 5)
  assert.deepEqual(asked, ['a1', 'banned-1', 'g1', 'm1', 'anon', 'banned-2'])
})

test('several hooks run in order, async ones included; an allow before the default lets anonymous clients in', async (t) => {
  const order: string[] = []
  const first: Auth = {
    authenticate: async (request) => {
      order.push(`first ${request.clientId}`)
      await new Promise((resolve) => setImmediate(resolve))
      return request.clientId === 'device-7' ? true : undefined
    }
  }
  const second: Auth = {
    authenticate: (request) => {
      order.push(`second ${request.clientId}`)
      return request.clientId === 'device-7' ? undefined : false
    }
  }
  const h = await startBroker(t, { allowAnonymous: false }, { auth: [first, second] })
  // allow_anonymous is false, but an authorizer allowed and nobody denied.
  await expectAccepted(h, { clientId: 'device-7' })
  // false from the second hook: "bad user name or password".
  await expectRefused(h, { clientId: 'device-8' }, 4)
  assert.deepEqual(order, ['first device-7', 'second device-7', 'first device-8', 'second device-8'])
})

test('a hook that throws or rejects after the users table refuses with CONNACK 3, is logged, and the broker keeps serving', async (t) => {
  const h = await startBroker(t, { users: { alice: 'pw' } }, {
    auth: [
      {
        authenticate: (request) => {
          if (request.clientId === 'throws') throw new Error('directory offline')
          return undefined
        }
      },
      {
        authenticate: async (request) => {
          if (request.clientId === 'rejects') throw new Error('directory offline')
          return undefined
        }
      }
    ]
  })
  await expectRefused(h, { clientId: 'throws', username: 'alice', password: 'pw' }, 3)
  await expectRefused(h, { clientId: 'rejects', username: 'alice', password: 'pw' }, 3)
  await expectAccepted(h, { clientId: 'fine', username: 'alice', password: 'pw' })
  assert.deepEqual(h.log.lines.filter((line) => line.startsWith('Authentication hook failed')), [
    'Authentication hook failed for throws (127.0.0.1): directory offline.',
    'Authentication hook failed for rejects (127.0.0.1): directory offline.'
  ])
})

test('publish and subscribe rules chain: any deny wins, the lowest QoS granted wins, no opinion defers', async (t) => {
  const h = await startBroker(t, {}, {
    auth: [
      {
        authorizePublish: (_client, topic) => topic === 'open' ? true : undefined,
        authorizeSubscribe: (_client, filter, qos) => filter === 'capped' ? 1 : qos
      },
      {
        authorizePublish: (_client, topic) => topic.startsWith('locked') ? false : undefined,
        authorizeSubscribe: (_client, filter) => filter === 'secret' ? false : undefined
      }
    ]
  })
  const sub = await h.client({ clientId: 'sub' })
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'capped', qos: 2 }, { topic: 'secret', qos: 0 }, { topic: '#', qos: 0 }] })
  await sub.expectPacket({ cmd: 'suback', messageId: 1, granted: [1, 0x80, 0] })
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('locked/door', 'no', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  pub.send(publishPacket('open', 'yes', 0))
  // The denied message never came: the first thing the subscriber sees is the allowed one.
  await sub.expectPacket(publishPacket('open', 'yes', 0))
  assert.ok(h.log.lines.includes("Dropped PUBLISH from pub to 'locked/door': not authorized."))
  assert.ok(h.log.lines.includes("Client sub subscription 'secret' refused: not authorized."))
})

test('a publish rule that answers a promise is a broken hook: the message is denied and the error reported', async (t) => {
  // authorizePublish is synchronous; a promise (always truthy) must not pass for an allow.
  const h = await startBroker(t, {}, { auth: { authorizePublish: (() => Promise.resolve(true)) as unknown as Auth['authorizePublish'] } })
  const errors: string[] = []
  h.broker.on('error', ({ error }) => errors.push(error.message))
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('#', 0)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('anything', 'x', 1, { messageId: 4 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 4 })
  await sub.expectNothingPending()
  assert.deepEqual(errors, ['authorizePublish answered a promise; it must answer synchronously with the values its type allows, or undefined'])
})
