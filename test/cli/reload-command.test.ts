// SIGHUP on the roost command reloads password_file and acl_file, as Mosquitto's does: a connected
// MQTT.js client stays connected and its rights change at once; a new user can log in; a broken
// edit keeps the rules in force and the log says why.
import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { after, it } from 'node:test'
import { connectV5, publish } from '../mqtt5/mqttjs'
import { connectRaw, freePort, makeTempDir, roostPerTest } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
const roost = roostPerTest()

const NOT_AUTHORIZED = (error: Error & { code?: number }): boolean => error.code === 0x87

it('SIGHUP reloads acl_file and password_file without dropping a connected client; a broken file keeps the old rules', async (t) => {
  const port = await freePort()
  const acl = temp.write('reload.acl', 'user alice\ntopic readwrite a/#\n')
  const passwords = temp.write('reload.passwd', 'alice:alice-pw\n')
  const conf = temp.write('reload.conf', `listener ${port} 127.0.0.1\npassword_file ${passwords}\nacl_file ${acl}\n`)
  const broker = roost(['-c', conf])
  await broker.waitForOutput(' running\n')

  const alice = await connectV5(t, port, { clientId: 'alice-stays', username: 'alice', password: 'alice-pw' })
  let closed = false
  alice.client.on('close', () => { closed = true })
  await assert.rejects(publish(alice, 'b/one', 'refused', { qos: 1 }), NOT_AUTHORIZED)
  assert.deepEqual(await connectRaw(port, { clientId: 'bob-1', username: 'bob', password: 'bob-pw' }), Buffer.from([0x20, 0x02, 0x00, 0x04]))

  writeFileSync(acl, 'user alice\ntopic readwrite a/#\ntopic readwrite b/#\n')
  writeFileSync(passwords, 'alice:alice-pw\nbob:bob-pw\n')
  broker.child.kill('SIGHUP')
  await broker.waitForOutput('Reloaded password_file and acl_file.')
  assert.equal(((await publish(alice, 'b/one', 'allowed now', { qos: 1 })) as { reasonCode?: number }).reasonCode ?? 0, 0)
  assert.deepEqual(await connectRaw(port, { clientId: 'bob-2', username: 'bob', password: 'bob-pw' }), Buffer.from([0x20, 0x02, 0x00, 0x00]))

  writeFileSync(acl, 'user alice\ntopic readwrite a/#\ntopik readwrite c/#\n')
  broker.child.kill('SIGHUP')
  await broker.waitForOutput('kept the previous settings')
  assert.match(broker.stderr(), new RegExp(`reload failed, kept the previous settings: password_file/acl_file: ${acl}:3: unknown ACL line 'topik'`))
  // Still the rules of the last good reload: b/# writable, c/# not.
  assert.equal(((await publish(alice, 'b/two', 'still allowed', { qos: 1 })) as { reasonCode?: number }).reasonCode ?? 0, 0)
  await assert.rejects(publish(alice, 'c/one', 'refused', { qos: 1 }), NOT_AUTHORIZED)
  assert.equal(closed, false)
  assert.equal(alice.client.connected, true)
})
