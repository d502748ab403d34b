// Topic names and filters (MQTT 3.1.1, 4.7): validation, the subscription trie, `$share` groups;
// as unit specs of lib/topics and on the wire.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseSharedFilter } from '../../lib/topics/shared'
import { type Subscriber, type Subscription, SubscriptionTrie } from '../../lib/topics/trie'
import { topicFilterProblem, topicMatches, topicNameProblem } from '../../lib/topics/validate'
import { startBroker } from '../helpers/broker'
import { publishPacket, unsubackPacket } from '../helpers/raw-client'

function subscriber (key: string): Subscriber {
  return { key, matchGeneration: 0, matchQos: 0, matchRetain: false, matchIds: undefined, originKey: key }
}

/** Keys of the subscribers whose ordinary subscriptions match `topic`, sorted. */
function matching (trie: SubscriptionTrie, topic: string): string[] {
  const keys: string[] = []
  trie.match(topic, (s) => keys.push(`${s.subscriber.key}:${s.filter}`), () => {})
  return keys.sort()
}

describe('topic validation', () => {
  test('valid topic names', () => {
    for (const name of ['a', 'a/b', '/', '/a', 'a/', 'a//b', ' ', 'sport/tennis/player1', '$SYS/x', 'ü/€/𝄞']) {
      assert.equal(topicNameProblem(name), undefined, name)
    }
  })

  test('invalid topic names: empty [MQTT-4.7.3-1], U+0000 [MQTT-4.7.3-2], wildcards [MQTT-3.3.2-2], over 65,535 bytes', () => {
    assert.equal(topicNameProblem(''), 'is empty')
    assert.equal(topicNameProblem('a\u0000b'), 'contains U+0000')
    assert.equal(topicNameProblem('a/+'), 'contains a wildcard')
    assert.equal(topicNameProblem('a/#'), 'contains a wildcard')
    assert.equal(topicNameProblem('a+b'), 'contains a wildcard')
    assert.equal(topicNameProblem('x'.repeat(65535)), undefined)
    assert.equal(topicNameProblem('x'.repeat(65536)), 'is longer than 65535 bytes')
    // Counted in UTF-8 bytes, not characters: 21,846 three-byte characters are 65,538 bytes.
    assert.equal(topicNameProblem('€'.repeat(21845)), undefined)
    assert.equal(topicNameProblem('€'.repeat(21846)), 'is longer than 65535 bytes')
  })

  test('level limits count levels, not slashes', () => {
    assert.equal(topicNameProblem('a/b/c', 3), undefined)
    assert.equal(topicNameProblem('a/b/c/d', 3), 'has more than 3 levels')
    assert.equal(topicFilterProblem('a/+/#', 3), undefined)
    assert.equal(topicFilterProblem('a/+/c/#', 3), 'has more than 3 levels')
  })

  test('valid topic filters [MQTT-4.7.1-2] [MQTT-4.7.1-3]', () => {
    for (const filter of ['#', '+', '+/+', 'a/#', 'a/+/b', '+/a/#', '/#', '/+', 'a//+', '$SYS/#', 'a']) {
      assert.equal(topicFilterProblem(filter), undefined, filter)
    }
  })

  test('invalid topic filters: # not last or not a whole level, + not a whole level', () => {
    assert.equal(topicFilterProblem('a/#/b'), "uses '#' other than as the whole last level")
    assert.equal(topicFilterProblem('a#'), "uses '#' other than as the whole last level")
    assert.equal(topicFilterProblem('#/a'), "uses '#' other than as the whole last level")
    assert.equal(topicFilterProblem('a+'), "uses '+' other than as a whole level")
    assert.equal(topicFilterProblem('a/+b/c'), "uses '+' other than as a whole level")
    assert.equal(topicFilterProblem('++'), "uses '+' other than as a whole level")
    assert.equal(topicFilterProblem(''), 'is empty')
    assert.equal(topicFilterProblem('a/\u0000'), 'contains U+0000')
  })

  test('topicMatches follows the wildcard rules, and no leading wildcard reaches $ topics [MQTT-4.7.2-1]', () => {
    const cases: Array<[string, string, boolean]> = [
      ['sport/tennis/player1/#', 'sport/tennis/player1', true],
      ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
      ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
      ['sport/#', 'sport', true],
      ['sport/tennis/+', 'sport/tennis/player1', true],
      ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
      ['sport/+', 'sport', false],
      ['sport/+', 'sport/', true],
      ['+/+', '/finance', true],
      ['/+', '/finance', true],
      ['+', '/finance', false],
      ['#', '$SYS/broker', false],
      ['+/broker', '$SYS/broker', false],
      ['$SYS/#', '$SYS/broker', true],
      ['$SYS/+', '$SYS/broker', true],
      ['a/b', 'a/b', true],
      ['a/b', 'a/B', false]
    ]
    for (const [filter, topic, expected] of cases) assert.equal(topicMatches(filter, topic), expected, `${filter} vs ${topic}`)
  })
})

describe('subscription trie', () => {
  test('matches exact, + and # filters, # including the parent level', () => {
    const trie = new SubscriptionTrie()
    const a = subscriber('a')
    const b = subscriber('b')
    for (const filter of ['sport/tennis/player1', 'sport/+/player1', 'sport/#', '#', '+/+/+', 'other']) {
      trie.add(filter, { subscriber: a, filter, qos: 0 })
    }
    trie.add('sport/tennis/#', { subscriber: b, filter: 'sport/tennis/#', qos: 1 })
    assert.equal(trie.size, 7)
    assert.deepEqual(matching(trie, 'sport/tennis/player1'), [
      'a:#', 'a:+/+/+', 'a:sport/#', 'a:sport/+/player1', 'a:sport/tennis/player1', 'b:sport/tennis/#'
    ])
    assert.deepEqual(matching(trie, 'sport'), ['a:#', 'a:sport/#'])
    assert.deepEqual(matching(trie, 'sport/tennis'), ['a:#', 'a:sport/#', 'b:sport/tennis/#'])
    assert.deepEqual(matching(trie, 'elsewhere'), ['a:#'])
  })

  test('topics beginning with $ are not matched by a leading wildcard [MQTT-4.7.2-1]', () => {
    const trie = new SubscriptionTrie()
    const s = subscriber('s')
    for (const filter of ['#', '+/broker', '+/+', '$SYS/#', '$SYS/+', '$SYS/broker']) trie.add(filter, { subscriber: s, filter, qos: 0 })
    assert.deepEqual(matching(trie, '$SYS/broker'), ['s:$SYS/#', 's:$SYS/+', 's:$SYS/broker'])
    assert.deepEqual(matching(trie, 'SYS/broker'), ['s:#', 's:+/+', 's:+/broker'])
  })

  test('adding the same filter twice replaces it; remove prunes and reports', () => {
    const trie = new SubscriptionTrie()
    const s = subscriber('s')
    assert.equal(trie.add('a/b', { subscriber: s, filter: 'a/b', qos: 0 }), false)
    assert.equal(trie.add('a/b', { subscriber: s, filter: 'a/b', qos: 2 }), true)
    assert.equal(trie.size, 1)
    const seen: Subscription[] = []
    trie.match('a/b', (sub) => seen.push(sub), () => {})
    assert.deepEqual(seen.map((sub) => sub.qos), [2])
    assert.equal(trie.remove('a/b', s), true)
    assert.equal(trie.remove('a/b', s), false)
    assert.equal(trie.remove('never/added', s), false)
    assert.equal(trie.size, 0)
    assert.deepEqual(matching(trie, 'a/b'), [])
  })

  test('shared groups are visited once per group, members added and removed', () => {
    const trie = new SubscriptionTrie()
    const [m1, m2] = [subscriber('m1'), subscriber('m2')]
    trie.add('jobs/#', { subscriber: m1, filter: '$share/g/jobs/#', qos: 1, group: 'g' })
    trie.add('jobs/#', { subscriber: m2, filter: '$share/g/jobs/#', qos: 1, group: 'g' })
    trie.add('jobs/#', { subscriber: m1, filter: '$share/h/jobs/#', qos: 0, group: 'h' })
    assert.equal(trie.sharedSize, 3)
    const groups: string[][] = []
    trie.match('jobs/1', () => assert.fail('no ordinary subscription'), (group) => groups.push(group.members.map((m) => m.subscriber.key)))
    assert.deepEqual(groups, [['m1', 'm2'], ['m1']])
    assert.equal(trie.remove('jobs/#', m1, 'g'), true)
    assert.equal(trie.sharedSize, 2)
  })
})

describe('$share filters', () => {
  test('parseSharedFilter splits group and filter, and names what is wrong [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
    assert.equal(parseSharedFilter('jobs/#'), undefined)
    assert.equal(parseSharedFilter('$shared/g/x'), undefined)
    assert.deepEqual(parseSharedFilter('$share/g/jobs/#'), { group: 'g', filter: 'jobs/#' })
    assert.deepEqual(parseSharedFilter('$share/g//x'), { group: 'g', filter: '/x' })
    assert.equal(parseSharedFilter('$share/g'), 'shared subscription has no topic filter')
    assert.equal(parseSharedFilter('$share//x'), 'shared subscription has an empty share name')
    assert.equal(parseSharedFilter('$share/g+/x'), 'share name contains a wildcard')
    assert.equal(parseSharedFilter('$share/#/x'), 'share name contains a wildcard')
    assert.equal(parseSharedFilter('$share/g/'), 'shared subscription has an empty topic filter')
  })
})

describe('topics on the wire', () => {
  test('an invalid filter gets SUBACK 0x80 while the valid ones in the same SUBSCRIBE are granted', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'c' })
    client.send({
      cmd: 'subscribe',
      messageId: 2,
      subscriptions: [{ topic: 'ok/+', qos: 1 }, { topic: 'bad/#/x', qos: 1 }, { topic: 'bad+', qos: 0 }, { topic: '$share//x', qos: 0 }, { topic: '#', qos: 2 }]
    })
    await client.expectPacket({ cmd: 'suback', messageId: 2, granted: [1, 0x80, 0x80, 0x80, 2] })
    assert.equal(h.broker.subscriptionCount, 2)
  })

  test('a SUBSCRIBE with no topic filter closes the connection as a protocol error [MQTT-3.8.3-3]', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'c' })
    client.send(Buffer.from([0x82, 0x02, 0x00, 0x05]))
    await client.expectClosed()
    assert.ok(h.log.lines.includes('Client c (127.0.0.1) protocol error: SUBSCRIBE with no topic filter; disconnecting.'))
  })

  test('an UNSUBSCRIBE with no topic filter closes the connection [MQTT-3.10.3-2]', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'c' })
    client.send(Buffer.from([0xa2, 0x02, 0x00, 0x05]))
    await client.expectClosed()
  })

  test('a PUBLISH to a topic with a wildcard closes the connection [MQTT-3.3.2-2]', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'c' })
    client.send(publishPacket('a/+', 'x', 0))
    await client.expectClosed()
  })

  test('a PUBLISH topic that is not valid UTF-8 closes the connection [MQTT-1.5.3-1]', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'c' })
    client.send(Buffer.from([0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x78]))
    await client.expectClosed()
  })

  test('a PUBLISH topic holding U+0000 closes the connection [MQTT-4.7.3-2]', async (t) => {
    const h = await startBroker(t)
    const client = await h.client({ clientId: 'c' })
    client.send(Buffer.from([0x30, 0x05, 0x00, 0x02, 0x61, 0x00, 0x78]))
    await client.expectClosed()
  })

  test('# and + at the first level do not deliver $ topics; $-rooted filters do [MQTT-4.7.2-1]', async (t) => {
    const h = await startBroker(t)
    const all = await h.client({ clientId: 'all' })
    await all.subscribe('#', 0)
    await all.subscribe('+/status', 0, 2)
    const dollar = await h.client({ clientId: 'dollar' })
    await dollar.subscribe('$app/+', 0)
    const pub = await h.client({ clientId: 'pub' })
    pub.send(publishPacket('$app/status', 'hidden', 0))
    pub.send(publishPacket('app/status', 'visible', 0))
    await pub.expectNothingPending()
    await dollar.expectPacket(publishPacket('$app/status', 'hidden', 0))
    await all.expectPacket(publishPacket('app/status', 'visible', 0))
    await all.expectNothingPending()
    await dollar.expectNothingPending()
  })

  test('UNSUBSCRIBE stops delivery and is answered with UNSUBACK, even for an unknown filter [MQTT-3.10.4-5]', async (t) => {
    const h = await startBroker(t)
    const sub = await h.client({ clientId: 'sub' })
    await sub.subscribe('u/+', 0)
    sub.send({ cmd: 'unsubscribe', messageId: 8, unsubscriptions: ['u/+', 'never/subscribed'] })
    const { bytes } = await sub.expectPacket(unsubackPacket(8))
    assert.deepEqual(bytes, Buffer.from([0xb0, 0x02, 0x00, 0x08]))
    const pub = await h.client({ clientId: 'pub' })
    pub.send(publishPacket('u/1', 'x', 0))
    await pub.expectNothingPending()
    await sub.expectNothingPending()
    assert.equal(h.broker.subscriptionCount, 0)
  })

  test('$share: one member of each group gets each message, round robin; ordinary subscribers get all', async (t) => {
    const h = await startBroker(t)
    const w1 = await h.client({ clientId: 'w1' })
    await w1.subscribe('$share/workers/jobs/+', 1)
    const w2 = await h.client({ clientId: 'w2' })
    await w2.subscribe('$share/workers/jobs/+', 1)
    const audit = await h.client({ clientId: 'audit' })
    await audit.subscribe('$share/audit/jobs/#', 0)
    const plain = await h.client({ clientId: 'plain' })
    await plain.subscribe('jobs/#', 0)
    const pub = await h.client({ clientId: 'pub' })
    for (let i = 1; i <= 4; i++) pub.send(publishPacket(`jobs/${i}`, `job${i}`, 0))
    await pub.expectNothingPending()
    for (const [worker, jobs] of [[w1, [1, 3]], [w2, [2, 4]]] as const) {
      for (const job of jobs) await worker.expectPacket(publishPacket(`jobs/${job}`, `job${job}`, 0))
      await worker.expectNothingPending()
    }
    for (const client of [audit, plain]) {
      for (let i = 1; i <= 4; i++) await client.expectPacket(publishPacket(`jobs/${i}`, `job${i}`, 0))
      await client.expectNothingPending()
    }
  })

  test('$share: a member that unsubscribes or goes away leaves the others to take every message', async (t) => {
    const h = await startBroker(t)
    const w1 = await h.client({ clientId: 'w1' })
    await w1.subscribe('$share/g/t', 1)
    const w2 = await h.client({ clientId: 'w2' })
    await w2.subscribe('$share/g/t', 1)
    w1.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['$share/g/t'] })
    await w1.expectPacket(unsubackPacket(2))
    const pub = await h.client({ clientId: 'pub' })
    for (let i = 1; i <= 2; i++) pub.send(publishPacket('t', `m${i}`, 0))
    await pub.expectNothingPending()
    await w2.expectPacket(publishPacket('t', 'm1', 0))
    await w2.expectPacket(publishPacket('t', 'm2', 0))
    await w1.expectNothingPending()
  })

  test('$share: members that are online are preferred over an offline persistent member', async (t) => {
    const h = await startBroker(t)
    const away = await h.client({ clientId: 'away', clean: false })
    await away.subscribe('$share/g/t', 1)
    const online = await h.client({ clientId: 'online' })
    await online.subscribe('$share/g/t', 1)
    await away.disconnect()
    const pub = await h.client({ clientId: 'pub' })
    for (let i = 1; i <= 3; i++) pub.send(publishPacket('t', `m${i}`, 0))
    await pub.expectNothingPending()
    for (let i = 1; i <= 3; i++) await online.expectPacket(publishPacket('t', `m${i}`, 0))
    await online.expectNothingPending()
  })
})
