// acl_file enforced on clients nobody here wrote: MQTT.js over MQTT 3.1.1 and 5, mosquitto_sub and
// mosquitto_pub. Every rule kind (the anonymous block, user blocks, read/write/readwrite/deny,
// patterns with %c and %u), SUBSCRIBE refused in SUBACK (0x80 on 3.1.1, 0x87 on 5), PUBLISH refused
// (PUBACK 0x87 on 5, acknowledged and dropped on 3.1.1), read access on live, retained and queued
// messages, wills, and `$SYS` staying read-only under a `readwrite #` rule.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { after, afterEach, before, describe, test } from 'node:test'
import type { Broker } from '../../lib'
import { makeTempDir } from '../cli/helpers'
import { ProcessPool } from '../clients/processes'
import { startBroker, subscribed } from '../clients/support'
import { connectV5, publish, type V5Client } from '../mqtt5/mqttjs'

const ACL = `# anonymous clients: read only, under public/
topic read public/#

user alice
topic readwrite alice/#
topic read shared/#
topic deny shared/secret
topic write sensors/+/temp

user root
topic readwrite #
topic readwrite $SYS/#

# every client
pattern readwrite devices/%c/#
pattern read users/%u/inbox
`

const PASSWORDS = 'alice:alice-pw\nroot:root-pw\nbob:bob-pw\n'

/** Seconds mosquitto_sub waits for its messages before giving up: a hang guard only. */
const GIVE_UP_SEC = '10'

describe('acl_file with MQTT.js 3.1.1 and 5, mosquitto_pub and mosquitto_sub', { timeout: 60_000 }, () => {
  const temp = makeTempDir()
  const aclFile = temp.write('acl', ACL)
  let broker: Broker
  let port: number
  const processes = new ProcessPool()
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(port)]
  const as = (username: string): { username: string, password: string } => ({ username, password: `${username}-pw` })

  before(async () => {
    const running = await startBroker({ aclFile, passwordFile: temp.write('passwd', PASSWORDS) })
    broker = running.broker
    port = running.port
  })
  afterEach(async () => { await processes.killAll() })
  after(async () => {
    await broker.close()
    temp.remove()
  })

  /** Publishes a marker root may write and waits for it: whatever was refused before it would have arrived first. */
  async function marker (subscriber: V5Client, publisher: V5Client, topic: string): Promise<string[]> {
    await publish(publisher, topic, 'marker', { qos: 1 })
    const topics: string[] = []
    for (let i = 0; i < 20; i++) {
      const message = await subscriber.next()
      topics.push(`${message.topic}=${message.payload}`)
      if (message.topic === topic) return topics
    }
    throw new Error(`no marker on ${topic} among ${topics.join(', ')}`)
  }

  /** The SUBACK codes, refusals included (MQTT.js rejects its own promise on any refusal). */
  async function subackCodes (c: V5Client, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
    const suback = c.nextPacket('suback')
    c.client.subscribe(filters)
    return (await suback as { granted: number[] }).granted
  }

  for (const protocolVersion of [4, 5] as const) {
    const refused = protocolVersion === 5 ? 0x87 : 0x80
    test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: SUBSCRIBE to a filter with nothing readable gets ${refused.toString(16)} in SUBACK, the others are granted [MQTT-3.9.3-2]`, async (t) => {
      const alice = await connectV5(t, port, { protocolVersion, clientId: `alice-sub-${protocolVersion}`, ...as('alice') })
      const granted = await subackCodes(alice, { 'alice/x': { qos: 1 }, 'secret/#': { qos: 1 }, 'shared/#': { qos: 1 }, 'shared/secret': { qos: 0 }, 'sensors/+/temp': { qos: 0 } })
      // readable: alice/x and shared/#; shared/secret is denied; sensors/+/temp is write-only
      assert.deepEqual(granted, [1, refused, 1, refused, refused])
    })
  }

  test('MQTT 5: a PUBLISH the ACL refuses gets PUBACK 0x87 and reaches nobody; a write rule with + lets its topics through', async (t) => {
    const root = await connectV5(t, port, { clientId: 'root-watch-5', ...as('root') })
    await root.client.subscribeAsync('#', { qos: 1 })
    const alice = await connectV5(t, port, { clientId: 'alice-pub-5', ...as('alice') })
    await assert.rejects(publish(alice, 'other/topic', 'refused', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
    await assert.rejects(publish(alice, 'shared/news', 'read-only there', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
    assert.equal((await publish(alice, 'sensors/kitchen/temp', '21', { qos: 1 }) as { reasonCode?: number }).reasonCode ?? 0, 0)
    assert.deepEqual(await marker(root, root, 'alice/end'), ['sensors/kitchen/temp=21', 'alice/end=marker'])
  })

  test('MQTT 3.1.1: a refused QoS 1 PUBLISH is acknowledged (3.1.1 has no way to say no) and dropped, as Mosquitto does', async (t) => {
    const root = await connectV5(t, port, { clientId: 'root-watch-4', ...as('root') })
    await root.client.subscribeAsync('#', { qos: 1 })
    const alice = await connectV5(t, port, { protocolVersion: 4, clientId: 'alice-pub-4', ...as('alice') })
    await publish(alice, 'other/topic', 'dropped', { qos: 1 })
    await publish(alice, 'alice/mine', 'kept', { qos: 1 })
    assert.deepEqual(await marker(root, root, 'alice/end4'), ['alice/mine=kept', 'alice/end4=marker'])
  })

  test('read access per delivery: a deny rule inside a readable tree holds back live and retained messages', async (t) => {
    const root = await connectV5(t, port, { clientId: 'root-retain', ...as('root') })
    await publish(root, 'shared/secret', 'retained secret', { qos: 1, retain: true })
    await publish(root, 'shared/open', 'retained open', { qos: 1, retain: true })
    const alice = await connectV5(t, port, { clientId: 'alice-read', ...as('alice') })
    await alice.client.subscribeAsync('shared/#', { qos: 1 })
    const first = await alice.next()
    assert.deepEqual([first.topic, first.payload, first.packet.retain], ['shared/open', 'retained open', true])
    await publish(root, 'shared/secret', 'live secret', { qos: 1 })
    assert.deepEqual(await marker(alice, root, 'shared/end'), ['shared/end=marker'])
    // Clean up the retained messages for the other tests.
    await publish(root, 'shared/secret', '', { qos: 1, retain: true })
    await publish(root, 'shared/open', '', { qos: 1, retain: true })
  })

  test('queued messages are checked again when delivered: rules reloaded while the client was away hold them back', async (t) => {
    const root = await connectV5(t, port, { clientId: 'root-queue', ...as('root') })
    const away = await connectV5(t, port, { protocolVersion: 4, clientId: 'alice-queue', clean: false, ...as('alice') })
    await away.client.subscribeAsync('shared/#', { qos: 1 })
    await away.client.endAsync()
    await publish(root, 'shared/report', 'queued while readable', { qos: 1 })
    await publish(root, 'shared/other', 'also queued', { qos: 1 })
    writeFileSync(aclFile, ACL.replace('topic deny shared/secret', 'topic deny shared/secret\ntopic deny shared/report'))
    try {
      await broker.reload()
      const back = await connectV5(t, port, { protocolVersion: 4, clientId: 'alice-queue', clean: false, ...as('alice') })
      assert.equal(back.connack.sessionPresent, true)
      const message = await back.next()
      assert.deepEqual([message.topic, message.payload], ['shared/other', 'also queued'])
      assert.deepEqual(await marker(back, root, 'shared/queue-end'), ['shared/queue-end=marker'])
    } finally {
      writeFileSync(aclFile, ACL)
      await broker.reload()
    }
  })

  test('a will to a topic its client may not write is not published; one it may write is', async (t) => {
    const root = await connectV5(t, port, { clientId: 'root-wills', ...as('root') })
    await root.client.subscribeAsync('#', { qos: 1 })
    const denied = await connectV5(t, port, { clientId: 'alice-will-1', ...as('alice'), will: { topic: 'other/will', payload: Buffer.from('denied'), qos: 1, retain: false } })
    await denied.drop()
    const allowed = await connectV5(t, port, { protocolVersion: 4, clientId: 'alice-will-2', ...as('alice'), will: { topic: 'alice/will', payload: Buffer.from('allowed'), qos: 1, retain: false } })
    await allowed.drop()
    const message = await root.next()
    assert.deepEqual([message.topic, message.payload], ['alice/will', 'allowed'])
  })

  test('$SYS stays read-only to a user whose rules say readwrite # and readwrite $SYS/#', async (t) => {
    const root = await connectV5(t, port, { clientId: 'root-sys', ...as('root') })
    await assert.rejects(publish(root, '$SYS/broker/uptime', 'forged', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
  })

  test('patterns: %c and %u stand for the client\'s own id and username, nobody else\'s', async (t) => {
    const bob = await connectV5(t, port, { clientId: 'dev1', ...as('bob') })
    assert.equal((await publish(bob, 'devices/dev1/state', 'on', { qos: 1 }) as { reasonCode?: number }).reasonCode ?? 0, 0)
    await assert.rejects(publish(bob, 'devices/dev2/state', 'forged', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
    assert.deepEqual(await subackCodes(bob, { 'users/bob/inbox': { qos: 1 }, 'users/carol/inbox': { qos: 1 }, 'devices/dev1/#': { qos: 1 } }), [1, 0x87, 1])
  })

  test('anonymous clients get the lines before the first user line: read public/#, write nothing', async (t) => {
    const anonymous = await connectV5(t, port, { clientId: 'anon-5' })
    assert.deepEqual(await subackCodes(anonymous, { 'public/#': { qos: 0 }, 'alice/#': { qos: 0 } }), [0, 0x87])
    await assert.rejects(publish(anonymous, 'public/notice', 'no', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
  })

  test('mosquitto_sub on # as alice receives only what she may read; mosquitto_pub as alice reaches only her topics', async () => {
    const sub = processes.start('mosquitto_sub', [...at(), '-i', 'alice-mosq', '-u', 'alice', '-P', 'alice-pw', '-t', '#', '-q', '1', '-C', '2', '-F', '%t|%p', '-W', GIVE_UP_SEC])
    await subscribed(broker, 'alice-mosq')
    for (const [user, topic, message] of [['root', 'shared/secret', 'hidden'], ['alice', 'other/place', 'refused'], ['root', 'shared/notes', 'seen'], ['alice', 'alice/diary', 'mine']]) {
      const published = await processes.run('mosquitto_pub', [...at(), '-u', user as string, '-P', `${user as string}-pw`, '-t', topic as string, '-m', message as string, '-q', '1'])
      assert.equal(published.code, 0, published.stderr)
    }
    assert.deepEqual(await sub.finished, { code: 0, stdout: 'shared/notes|seen\nalice/diary|mine\n', stderr: '' })
  })

  test('mosquitto_sub -V 311 is told its only subscription was refused (SUBACK 0x80)', async () => {
    const sub = await processes.run('mosquitto_sub', [...at(), '-V', 'mqttv311', '-u', 'alice', '-P', 'alice-pw', '-t', 'secret/#', '-W', GIVE_UP_SEC])
    assert.match(sub.stderr, /denied/i)
  })
})
