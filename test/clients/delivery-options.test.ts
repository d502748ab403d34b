// Mosquitto's two delivery words, with real publishers and subscribers: max_inflight_bytes holds
// QoS 1/2 messages back while the payload bytes in flight to a client reach the limit, and
// upgrade_outgoing_qos delivers at the subscription's QoS (not conformant: [MQTT-3.3.5-1] says the
// lesser of the two, which stays the default). A raw subscriber decides when to acknowledge; the
// PINGREQ barrier (expectNothingPending) proves a message was held back without any pause.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, afterEach, describe, test, type TestContext } from 'node:test'
import { makeTempDir } from '../cli/helpers'
import { startBroker } from '../helpers/broker'
import { publishPacket } from '../helpers/raw-client'
import { ProcessPool } from './processes'
import { subscribed } from './support'

/** Seconds mosquitto_sub waits for its messages before exiting with an error: a hang guard only. */
const GIVE_UP_SEC = '10'

const processes = new ProcessPool()
const temp = makeTempDir()
afterEach(async () => { await processes.killAll() })
after(() => temp.remove())

function payloadFile (name: string, bytes: number, fill: string): { file: string, payload: Buffer } {
  const payload = Buffer.alloc(bytes, fill)
  const file = path.join(temp.dir, name)
  writeFileSync(file, payload)
  return { file, payload }
}

describe('max_inflight_bytes', { timeout: 30_000 }, () => {
  test('a second large QoS 1 message from mosquitto_pub waits until the first is acknowledged', async (t) => {
    const h = await startBroker(t, { maxInflightBytes: 100_000 })
    const sub = await h.client({ clientId: 'bytes-sub' })
    await sub.subscribe('large/#', 1)
    const first = payloadFile('first.bin', 256 * 1024, 'a')
    const second = payloadFile('second.bin', 256 * 1024, 'b')
    const at = ['-h', '127.0.0.1', '-p', String(h.port), '-q', '1']
    // mosquitto_pub exits after its PUBACK, which the broker sends once it has routed the message.
    assert.equal((await processes.run('mosquitto_pub', [...at, '-t', 'large/1', '-f', first.file])).code, 0)
    assert.equal((await processes.run('mosquitto_pub', [...at, '-t', 'large/2', '-f', second.file])).code, 0)
    // The first is larger than the limit and still goes, alone, as Mosquitto lets it.
    await sub.expectPacket(publishPacket('large/1', first.payload, 1, { messageId: 1 }))
    await sub.expectNothingPending()
    sub.send({ cmd: 'puback', messageId: 1 })
    await sub.expectPacket(publishPacket('large/2', second.payload, 1, { messageId: 2 }))
    sub.send({ cmd: 'puback', messageId: 2 })
    await sub.expectNothingPending()
  })

  test('messages go while fewer bytes than the limit are in flight; each acknowledgement makes room', async (t) => {
    const h = await startBroker(t, { maxInflightBytes: 1000 })
    const sub = await h.client({ clientId: 'sum-sub' })
    await sub.subscribe('sum', 1)
    const pub = await h.client({ clientId: 'sum-pub' })
    const payloads = ['a', 'b', 'c', 'd'].map((fill) => Buffer.alloc(600, fill))
    payloads.forEach((payload, i) => pub.send(publishPacket('sum', payload, 1, { messageId: i + 1 })))
    for (let i = 1; i <= 4; i++) await pub.expectPacket({ cmd: 'puback', messageId: i })
    // 0 then 600 bytes in flight: both go; at 1200 the rest wait.
    await sub.expectPacket(publishPacket('sum', payloads[0] as Buffer, 1, { messageId: 1 }))
    await sub.expectPacket(publishPacket('sum', payloads[1] as Buffer, 1, { messageId: 2 }))
    await sub.expectNothingPending()
    sub.send({ cmd: 'puback', messageId: 1 })
    await sub.expectPacket(publishPacket('sum', payloads[2] as Buffer, 1, { messageId: 3 }))
    await sub.expectNothingPending()
    sub.send({ cmd: 'puback', messageId: 2 })
    await sub.expectPacket(publishPacket('sum', payloads[3] as Buffer, 1, { messageId: 4 }))
  })

  test('counts payload bytes, not whole packets, as Mosquitto does', async (t) => {
    const h = await startBroker(t, { maxInflightBytes: 1000 })
    const topic = `payload/${'t'.repeat(2000)}`
    const sub = await h.client({ clientId: 'payload-sub' })
    await sub.subscribe('payload/#', 1)
    const pub = await h.client({ clientId: 'payload-pub' })
    const payload = Buffer.alloc(999, 'p')
    // Each packet is over 3000 bytes, but 999 payload bytes in flight leave room for the next.
    pub.send(publishPacket(topic, payload, 1, { messageId: 1 }))
    pub.send(publishPacket(topic, payload, 1, { messageId: 2 }))
    await sub.expectPacket(publishPacket(topic, payload, 1, { messageId: 1 }))
    await sub.expectPacket(publishPacket(topic, payload, 1, { messageId: 2 }))
  })

  test('max_inflight_messages still applies alongside it', async (t) => {
    const h = await startBroker(t, { maxInflightBytes: 1_000_000, maxInflightMessages: 1 })
    const sub = await h.client({ clientId: 'both-sub' })
    await sub.subscribe('both', 1)
    const pub = await h.client({ clientId: 'both-pub' })
    pub.send(publishPacket('both', 'one', 1, { messageId: 1 }))
    pub.send(publishPacket('both', 'two', 1, { messageId: 2 }))
    await pub.expectPacket({ cmd: 'puback', messageId: 1 })
    await pub.expectPacket({ cmd: 'puback', messageId: 2 })
    await sub.expectPacket(publishPacket('both', 'one', 1, { messageId: 1 }))
    await sub.expectNothingPending()
    sub.send({ cmd: 'puback', messageId: 1 })
    await sub.expectPacket(publishPacket('both', 'two', 1, { messageId: 2 }))
  })

  test('a QoS 2 message keeps its bytes in flight until PUBCOMP', async (t) => {
    const h = await startBroker(t, { maxInflightBytes: 10 })
    const sub = await h.client({ clientId: 'q2-sub' })
    await sub.subscribe('q2', 2)
    const pub = await h.client({ clientId: 'q2-pub' })
    pub.send(publishPacket('q2', 'ten bytes!', 2, { messageId: 1 }))
    pub.send(publishPacket('q2', 'next', 2, { messageId: 2 }))
    await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
    await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
    await sub.expectPacket(publishPacket('q2', 'ten bytes!', 2, { messageId: 1 }))
    sub.send({ cmd: 'pubrec', messageId: 1 })
    await sub.expectPacket({ cmd: 'pubrel', messageId: 1 })
    await sub.expectNothingPending()
    sub.send({ cmd: 'pubcomp', messageId: 1 })
    await sub.expectPacket(publishPacket('q2', 'next', 2, { messageId: 2 }))
  })
})

describe('upgrade_outgoing_qos', { timeout: 30_000 }, () => {
  /** mosquitto_sub -d at QoS 1 on `topic`, and mosquitto_pub of one QoS 0 message to it. */
  async function publishQos0ToQos1Subscriber (options: { upgradeOutgoingQos?: boolean }, t: TestContext, clientId: string): Promise<string> {
    const h = await startBroker(t, options)
    const at = ['-h', '127.0.0.1', '-p', String(h.port)]
    const subscriber = processes.start('mosquitto_sub', [...at, '-d', '-i', clientId, '-t', 'up/qos', '-q', '1', '-C', '1', '-W', GIVE_UP_SEC])
    await subscribed(h.broker, clientId)
    assert.equal((await processes.run('mosquitto_pub', [...at, '-t', 'up/qos', '-q', '0', '-m', 'at qos 0'])).code, 0)
    const finished = await subscriber.finished
    assert.equal(finished.code, 0, finished.stderr)
    return finished.stdout
  }

  test('on: a QoS 0 publish reaches a QoS 1 subscriber at QoS 1, and mosquitto_sub acknowledges it', async (t) => {
    const output = await publishQos0ToQos1Subscriber({ upgradeOutgoingQos: true }, t, 'up-on')
    assert.match(output, /^Client up-on received PUBLISH \(d0, q1, r0, m1, 'up\/qos', \.\.\. \(8 bytes\)\)$/m)
    assert.match(output, /^Client up-on sending PUBACK \(m1, rc0\)$/m)
  })

  test('off by default: the same publish arrives at QoS 0 [MQTT-3.3.5-1]', async (t) => {
    const output = await publishQos0ToQos1Subscriber({}, t, 'up-off')
    assert.match(output, /^Client up-off received PUBLISH \(d0, q0, r0, m0, 'up\/qos', \.\.\. \(8 bytes\)\)$/m)
    assert.doesNotMatch(output, /PUBACK/)
  })

  test('on: a retained QoS 0 message goes to a new QoS 2 subscriber at QoS 2; a QoS 0 subscription still gets QoS 0', async (t) => {
    const h = await startBroker(t, { upgradeOutgoingQos: true })
    const at = ['-h', '127.0.0.1', '-p', String(h.port)]
    assert.equal((await processes.run('mosquitto_pub', [...at, '-t', 'up/kept', '-q', '0', '-r', '-m', 'kept'])).code, 0)
    const upgraded = await processes.run('mosquitto_sub', [...at, '-t', 'up/kept', '-q', '2', '-C', '1', '-F', '%q|%r|%p', '-W', GIVE_UP_SEC])
    assert.deepEqual(upgraded, { code: 0, stdout: '2|1|kept\n', stderr: '' })
    // The subscription's QoS is what a message goes out at, lower than the message's too.
    const subscriber = processes.start('mosquitto_sub', [...at, '-i', 'up-q0', '-t', 'up/low', '-q', '0', '-C', '1', '-F', '%q|%p', '-W', GIVE_UP_SEC])
    await subscribed(h.broker, 'up-q0')
    assert.equal((await processes.run('mosquitto_pub', [...at, '-t', 'up/low', '-q', '2', '-m', 'sent at 2'])).code, 0)
    assert.deepEqual(await subscriber.finished, { code: 0, stdout: '0|sent at 2\n', stderr: '' })
  })
})
