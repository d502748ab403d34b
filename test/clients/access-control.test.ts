// The auth chain and read access as clients nobody here wrote see them: MQTT.js refused by a hook
// that runs after the users table, and Debian's mosquitto_sub on `#` receiving only the topics it
// may read, retained and live (mosquitto_pub publishing).
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import type { ClientInfo } from '../../lib'
import { ProcessPool } from './processes'
import { ClientPool, type RunningBroker, startBroker, subscribed } from './support'

/** Seconds mosquitto_sub waits for its messages before exiting with an error: a hang guard only. */
const GIVE_UP_SEC = '10'

describe('auth chain and read access with MQTT.js and mosquitto_sub', { timeout: 30_000 }, () => {
  let running: RunningBroker
  const processes = new ProcessPool()
  const pool = new ClientPool()
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(running.port)]

  before(async () => {
    running = await startBroker({ users: { reader: 'r-pw', boss: 'b-pw' } }, {
      auth: {
        authenticate: (request) => request.clientId === 'blocked' ? false : undefined,
        authorizeDelivery: (client: ClientInfo, topic: string) => client.username === 'reader' && topic.startsWith('payroll/') ? false : undefined
      }
    })
  })
  afterEach(async () => {
    await processes.killAll()
    await pool.endAll()
  })
  after(async () => { await running.broker.close() })

  test('MQTT.js with the right password is still refused by a hook that denies after the users table', async () => {
    await assert.rejects(pool.connect(running.port, { clientId: 'blocked', username: 'boss', password: 'b-pw' }), /Bad username or password/)
    const { client } = await pool.connect(running.port, { clientId: 'allowed', username: 'boss', password: 'b-pw' })
    assert.equal(client.connected, true)
  })

  test('mosquitto_sub on # gets the retained and live messages it may read, and none of the others', async () => {
    for (const [topic, message] of [['payroll/march', 'hidden'], ['news/march', 'kept']] as const) {
      const published = await processes.run('mosquitto_pub', [...at(), '-u', 'boss', '-P', 'b-pw', '-t', topic, '-m', message, '-r', '-q', '1'])
      assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    }
    const reader = processes.start('mosquitto_sub', [...at(), '-i', 'reader-sub', '-u', 'reader', '-P', 'r-pw', '-t', '#', '-q', '1', '-C', '3', '-F', '%t|%r|%p', '-W', GIVE_UP_SEC])
    await subscribed(running.broker, 'reader-sub')
    for (const [topic, message] of [['payroll/april', 'hidden'], ['news/april', 'live'], ['news/end', 'last']] as const) {
      await processes.run('mosquitto_pub', [...at(), '-u', 'boss', '-P', 'b-pw', '-t', topic, '-m', message, '-q', '1'])
    }
    assert.deepEqual(await reader.finished, { code: 0, stdout: 'news/march|1|kept\nnews/april|0|live\nnews/end|0|last\n', stderr: '' })
  })
})
