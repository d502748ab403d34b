// Settings that belong to a listener: per_listener_settings (each listener its own password_file,
// acl_file and allow_anonymous), mount_point (topics in, filters in, deliveries out, retained
// messages, wills and shared subscriptions, and nothing outside the prefix) and a listener's own
// max_connections. Clients: MQTT.js 3.1.1 and 5, mosquitto_sub.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import { type Broker, createBroker } from '../../lib'
import { connectRaw, makeTempDir } from '../cli/helpers'
import { ProcessPool } from '../clients/processes'
import { subscribed } from '../clients/support'
import { connectV5, publish, type V5Client } from '../mqtt5/mqttjs'

const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00])

describe('per_listener_settings, mount_point and a listener\'s max_connections', { timeout: 60_000 }, () => {
  const temp = makeTempDir()
  const processes = new ProcessPool()
  let broker: Broker
  /** Port of the plain listener (alice's password file, no anonymous clients). */
  let plain: number
  /** Port of the tenant listener (bob's password file, anonymous allowed, mount point tenant-b/, at most 2 clients). */
  let tenant: number

  before(async () => {
    broker = createBroker({
      sysIntervalSec: 0,
      perListenerSettings: true,
      // Broker-wide values that per_listener_settings must not apply to these listeners.
      allowAnonymous: true,
      passwordFile: temp.write('shared.passwd', 'carol:carol-pw\n'),
      listeners: [
        { port: 0, host: '127.0.0.1', allowAnonymous: false, passwordFile: temp.write('a.passwd', 'alice:alice-pw\n') },
        {
          port: 0,
          host: '127.0.0.1',
          allowAnonymous: true,
          passwordFile: temp.write('b.passwd', 'bob:bob-pw\n'),
          // acl_file rules name whole topics, the mount point included, as in Mosquitto.
          aclFile: temp.write('b.acl', 'topic readwrite tenant-b/#\nuser bob\ntopic readwrite tenant-b/#\ntopic deny tenant-b/admin/#\n'),
          mountPoint: 'tenant-b/',
          maxConnections: 2
        }
      ]
    })
    const bound = await broker.listen()
    plain = bound[0]?.port ?? 0
    tenant = bound[1]?.port ?? 0
  })
  afterEach(async () => { await processes.killAll() })
  after(async () => {
    await broker.close()
    temp.remove()
  })

  test('each listener takes its own password file and allow_anonymous; the broker-wide ones do not apply', async () => {
    assert.deepEqual(await connectRaw(plain, { clientId: 'a1', username: 'alice', password: 'alice-pw' }), CONNACK_ACCEPTED)
    // [MQTT-3.2.2-6] return code 4 on 3.1.1; 0x86 on MQTT 5
    assert.deepEqual(await connectRaw(plain, { clientId: 'a2', username: 'bob', password: 'bob-pw' }), Buffer.from([0x20, 0x02, 0x00, 0x04]))
    assert.equal((await connectRaw(plain, { clientId: 'a3', username: 'carol', password: 'carol-pw', protocolVersion: 5 }))[3], 0x86)
    assert.deepEqual(await connectRaw(plain, { clientId: 'a4' }), Buffer.from([0x20, 0x02, 0x00, 0x05]))
    assert.deepEqual(await connectRaw(tenant, { clientId: 'b1', username: 'bob', password: 'bob-pw' }), CONNACK_ACCEPTED)
    assert.deepEqual(await connectRaw(tenant, { clientId: 'b2', username: 'alice', password: 'alice-pw' }), Buffer.from([0x20, 0x02, 0x00, 0x04]))
    assert.deepEqual(await connectRaw(tenant, { clientId: 'b3' }), CONNACK_ACCEPTED)
  })

  test('mount_point: the tenant\'s topics arrive under tenant-b/ and go back to it without the prefix, retained messages and wills included', async (t) => {
    const outside = await connectV5(t, plain, { clientId: 'outside', username: 'alice', password: 'alice-pw' })
    await publish(outside, 'tenant-b/config', 'retained for the tenant', { qos: 1, retain: true })
    await publish(outside, 'elsewhere/config', 'not the tenant\'s', { qos: 1, retain: true })
    // Retain Handling 2: the watcher does not want the retained messages it just left.
    await outside.client.subscribeAsync('#', { qos: 1, rh: 2 })

    const inside = await connectV5(t, tenant, { protocolVersion: 4, clientId: 'inside', username: 'bob', password: 'bob-pw', will: { topic: 'lost', payload: Buffer.from('gone'), qos: 1, retain: false } })
    await inside.client.subscribeAsync('#', { qos: 1 })
    const retained = await inside.next()
    assert.deepEqual([retained.topic, retained.payload, retained.packet.retain], ['config', 'retained for the tenant', true])

    await publish(inside, 'status', 'up', { qos: 1 })
    const seen = await outside.next()
    assert.equal(seen.topic, 'tenant-b/status')
    // its own message comes back to the tenant without the prefix
    assert.equal((await inside.next()).topic, 'status')

    await publish(outside, 'elsewhere/cmd', 'never inside', { qos: 1 })
    await publish(outside, 'tenant-b/cmd', 'inside', { qos: 1 })
    const command = await inside.next()
    assert.deepEqual([command.topic, command.payload], ['cmd', 'inside'])

    // The tenant's own $SYS is a topic under its prefix, not the broker's tree.
    await publish(inside, '$SYS/fake', 'harmless', { qos: 1 })
    assert.deepEqual([(await outside.next()).topic, (await outside.next()).topic, (await outside.next()).topic], ['elsewhere/cmd', 'tenant-b/cmd', 'tenant-b/$SYS/fake'])
    await inside.drop()
    const will = await outside.next()
    assert.deepEqual([will.topic, will.payload], ['tenant-b/lost', 'gone'])
    await publish(outside, 'tenant-b/config', '', { qos: 1, retain: true })
    await publish(outside, 'elsewhere/config', '', { qos: 1, retain: true })
  })

  test('mount_point: shared subscriptions get the prefix after $share/<group>/, and the listener\'s ACL reads whole topics', async (t) => {
    const outside = await connectV5(t, plain, { clientId: 'jobs-feed', username: 'alice', password: 'alice-pw' })
    const worker = await connectV5(t, tenant, { clientId: 'worker', username: 'bob', password: 'bob-pw' })
    await worker.client.subscribeAsync('$share/workers/jobs/#', { qos: 1 })
    await publish(outside, 'tenant-b/jobs/1', 'first job', { qos: 1 })
    const job = await worker.next()
    assert.deepEqual([job.topic, job.payload], ['jobs/1', 'first job'])
    await assert.rejects(publish(worker, 'admin/reset', 'no', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87)
  })

  test('mosquitto_sub on the tenant listener sees topics without the mount point', async () => {
    const sub = processes.start('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(tenant), '-i', 'tenant-sub', '-u', 'bob', '-P', 'bob-pw', '-t', 'sensors/#', '-C', '1', '-F', '%t|%p', '-W', '10'])
    await subscribed(broker, 'tenant-sub')
    broker.publish({ topic: 'sensors/other', payload: 'outside the tenant' })
    broker.publish({ topic: 'tenant-b/sensors/door', payload: 'open' })
    assert.deepEqual(await sub.finished, { code: 0, stdout: 'sensors/door|open\n', stderr: '' })
  })

  test('a listener\'s max_connections refuses the next client there (CONNACK 3 / 0x88) while the other listener and takeovers still work', async (t) => {
    // The clients of earlier tests are closed by now, but the broker may not have seen every close yet.
    for (let i = 0; i < 100 && broker.clientCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(broker.clientCount, 0)
    const clients: V5Client[] = []
    for (const clientId of ['slot-1', 'slot-2']) clients.push(await connectV5(t, tenant, { protocolVersion: 4, clientId }))
    assert.deepEqual(await connectRaw(tenant, { clientId: 'slot-3' }), Buffer.from([0x20, 0x02, 0x00, 0x03]))
    assert.equal((await connectRaw(tenant, { clientId: 'slot-3', protocolVersion: 5 }))[3], 0x88)
    // A client taking over its own session replaces a connection rather than adding one.
    assert.deepEqual(await connectRaw(tenant, { clientId: 'slot-2' }), CONNACK_ACCEPTED)
    assert.deepEqual(await connectRaw(plain, { clientId: 'elsewhere', username: 'alice', password: 'alice-pw' }), CONNACK_ACCEPTED)
  })
})
