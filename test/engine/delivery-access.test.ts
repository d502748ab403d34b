// Read access on every delivery (Auth.authorizeDelivery, lib/auth/delivery.ts): a `#` subscriber
// gets nothing on a topic it may not read, live, retained or queued; the answer is asked once
// per subscriber and topic and remembered until broker.authorizationChanged().
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClientInfo, DeliveredMessage } from '../../lib'
import { startBroker } from '../helpers/broker'
import { publishPacket } from '../helpers/raw-client'

/** A rule table a test edits: topics each username may not read. */
function readRules (denied: Record<string, string[]>, asked: string[] = []) {
  return {
    authorizeDelivery: (client: ClientInfo, topic: string): boolean | undefined => {
      asked.push(`${client.clientId} ${topic}`)
      return (denied[client.username ?? ''] ?? []).includes(topic) ? false : undefined
    }
  }
}

test('live: a # subscriber gets nothing on a topic it may not read; each (subscriber, topic) is asked once', async (t) => {
  const asked: string[] = []
  const h = await startBroker(t, { sysIntervalSec: 0 }, { auth: readRules({ reader: ['secret/plans'] }, asked) })
  const reader = await h.client({ clientId: 'r', username: 'reader' })
  await reader.subscribe('#', 1)
  const boss = await h.client({ clientId: 'b', username: 'boss' })
  await boss.subscribe('#', 0)
  // The embedding program's own subscriber is never asked.
  const local: string[] = []
  h.broker.subscribe('#', 0, (message: DeliveredMessage) => local.push(message.topic))
  const pub = await h.client({ clientId: 'p' })
  const topics = ['secret/plans', 'open/news', 'secret/plans', 'open/news', 'secret/plans', 'open/end']
  for (const topic of topics) pub.send(publishPacket(topic, topic, 0))
  await reader.expectPacket(publishPacket('open/news', 'open/news', 0))
  await reader.expectPacket(publishPacket('open/news', 'open/news', 0))
  await reader.expectPacket(publishPacket('open/end', 'open/end', 0))
  await reader.expectNothingPending()
  for (const topic of topics) await boss.expectPacket(publishPacket(topic, topic, 0))
  assert.deepEqual(local, topics)
  assert.deepEqual(asked.sort(), ['b open/end', 'b open/news', 'b secret/plans', 'r open/end', 'r open/news', 'r secret/plans'])
})

test('retained: a new # subscription gets only the retained messages it may read', async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 0 }, { auth: readRules({ reader: ['secret/plans'] }) })
  const pub = await h.client({ clientId: 'p' })
  pub.send(publishPacket('secret/plans', 'kept', 1, { messageId: 1, retain: true }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  pub.send(publishPacket('open/news', 'kept too', 1, { messageId: 2, retain: true }))
  await pub.expectPacket({ cmd: 'puback', messageId: 2 })
  const reader = await h.client({ clientId: 'r', username: 'reader' })
  await reader.subscribe('#', 1)
  await reader.expectPacket(publishPacket('open/news', 'kept too', 1, { messageId: 1, retain: true }))
  await reader.expectNothingPending()
})

test('queued: denied messages are never queued, and queued ones denied by a later rule change are not sent', async (t) => {
  const denied: Record<string, string[]> = { reader: ['secret/plans'] }
  const h = await startBroker(t, { sysIntervalSec: 0 }, { auth: readRules(denied) })
  const session = { clientId: 'r', username: 'reader', clean: false }
  const first = await h.client(session)
  await first.subscribe('#', 1)
  await first.disconnect()
  const pub = await h.client({ clientId: 'p' })
  for (const [i, topic] of ['secret/plans', 'open/news'].entries()) {
    pub.send(publishPacket(topic, 'while away', 1, { messageId: i + 1 }))
    await pub.expectPacket({ cmd: 'puback', messageId: i + 1 })
  }
  const second = await h.client(session, true)
  await second.expectPacket(publishPacket('open/news', 'while away', 1, { messageId: 1 }))
  second.send({ cmd: 'puback', messageId: 1 })
  await second.expectNothingPending()
  await second.disconnect()

  // Queued while allowed, then the rules change before the client is back.
  pub.send(publishPacket('open/later', 'queued', 1, { messageId: 3 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 3 })
  pub.send(publishPacket('open/last', 'queued', 1, { messageId: 4 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 4 })
  denied.reader = ['secret/plans', 'open/later']
  h.broker.authorizationChanged()
  const third = await h.client(session, true)
  await third.expectPacket(publishPacket('open/last', 'queued', 1, { messageId: 2 }))
  await third.expectNothingPending()
})

test('answers are remembered until authorizationChanged(), then asked again', async (t) => {
  const denied: Record<string, string[]> = {}
  const asked: string[] = []
  const h = await startBroker(t, { sysIntervalSec: 0 }, { auth: readRules(denied, asked) })
  const reader = await h.client({ clientId: 'r', username: 'reader' })
  await reader.subscribe('#', 0)
  const pub = await h.client({ clientId: 'p' })
  const send = async (payload: string): Promise<void> => {
    pub.send(publishPacket('flip', payload, 1, { messageId: 1 }))
    await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  }
  await send('one')
  await reader.expectPacket(publishPacket('flip', 'one', 0))
  // The table changes without telling the broker: the remembered answer still holds.
  denied.reader = ['flip']
  await send('two')
  await reader.expectPacket(publishPacket('flip', 'two', 0))
  assert.deepEqual(asked, ['r flip'])
  h.broker.authorizationChanged()
  await send('three')
  await reader.expectNothingPending()
  assert.deepEqual(asked, ['r flip', 'r flip'])
  denied.reader = []
  h.broker.authorizationChanged()
  await send('four')
  await reader.expectPacket(publishPacket('flip', 'four', 0))
  assert.deepEqual(asked, ['r flip', 'r flip', 'r flip'])
})

test('a client back under another username is asked again for its own read access', async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 0 }, { auth: readRules({ reader: ['secret/plans'] }) })
  const pub = await h.client({ clientId: 'p' })
  const asReader = await h.client({ clientId: 'r', username: 'reader', clean: false })
  await asReader.subscribe('secret/#', 0)
  pub.send(publishPacket('secret/plans', 'hidden', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await asReader.expectNothingPending()
  await asReader.disconnect()
  const asBoss = await h.client({ clientId: 'r', username: 'boss', clean: false }, true)
  pub.send(publishPacket('secret/plans', 'shown', 1, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 2 })
  await asBoss.expectPacket(publishPacket('secret/plans', 'shown', 0))
})

test('a shared subscription passes over a member that may not read the topic', async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 0 }, { auth: readRules({ reader: ['jobs/payroll'] }) })
  const reader = await h.client({ clientId: 'r', username: 'reader' })
  await reader.subscribe('$share/workers/jobs/#', 0)
  const boss = await h.client({ clientId: 'b', username: 'boss' })
  await boss.subscribe('$share/workers/jobs/#', 0)
  const pub = await h.client({ clientId: 'p' })
  for (let i = 0; i < 4; i++) pub.send(publishPacket('jobs/payroll', String(i), 0))
  for (let i = 0; i < 4; i++) await boss.expectPacket(publishPacket('jobs/payroll', String(i), 0))
  await reader.expectNothingPending()
})

test('a delivery rule that throws denies, is reported once for the topic, and the broker keeps serving', async (t) => {
  const h = await startBroker(t, { sysIntervalSec: 0 }, {
    auth: {
      authorizeDelivery: (_client, topic) => {
        if (topic === 'acl/down') throw new Error('acl service down')
        return true
      }
    }
  })
  const errors: string[] = []
  h.broker.on('error', ({ error, clientId }) => errors.push(`${clientId ?? ''} ${error.message}`))
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('acl/#', 0)
  const pub = await h.client({ clientId: 'p' })
  pub.send(publishPacket('acl/down', 'x', 0))
  pub.send(publishPacket('acl/down', 'y', 0))
  pub.send(publishPacket('acl/up', 'z', 0))
  await sub.expectPacket(publishPacket('acl/up', 'z', 0))
  assert.deepEqual(errors, ['sub acl service down'])
  assert.equal(h.log.lines.filter((line) => line === 'Authorization hook failed for sub: acl service down.').length, 1)
})
