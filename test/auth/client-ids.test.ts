// The client-id words with both protocol versions: allow_zero_length_clientid, auto_id_prefix,
// clientid_prefixes and use_username_as_clientid. Refusals are compared as raw CONNACK bytes
// (3.1.1 return codes, MQTT 5 reason codes); MQTT.js and mosquitto_pub connect as users would.
import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import type { BrokerOptions } from '../../lib'
import { connectRaw } from '../cli/helpers'
import { ProcessPool } from '../clients/processes'
import { type RunningBroker, startBroker } from '../clients/support'
import { connectV5 } from '../mqtt5/mqttjs'

const ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00])

/** The return code of a 3.1.1 CONNACK, or the reason code of an MQTT 5 one. */
async function connackCode (port: number, connect: Parameters<typeof connectRaw>[1]): Promise<number> {
  return (await connectRaw(port, connect))[3] as number
}

describe('client-id rules', { timeout: 30_000 }, () => {
  const brokers: RunningBroker[] = []
  const processes = new ProcessPool()
  async function broker (options: Partial<BrokerOptions>): Promise<RunningBroker> {
    const running = await startBroker(options)
    brokers.push(running)
    return running
  }
  afterEach(async () => {
    await processes.killAll()
    await Promise.all(brokers.splice(0).map(async (running) => { await running.broker.close() }))
  })

  test('allow_zero_length_clientid false: an empty id is refused, 2 on MQTT 3.1.1 and 0x85 on MQTT 5 [MQTT-3.1.3-8]', async () => {
    const { port } = await broker({ allowZeroLengthClientid: false })
    assert.deepEqual(await connectRaw(port, { clientId: '' }), Buffer.from([0x20, 0x02, 0x00, 0x02]))
    assert.equal(await connackCode(port, { clientId: '', protocolVersion: 5 }), 0x85)
    assert.deepEqual(await connectRaw(port, { clientId: 'named' }), ACCEPTED)
  })

  test('auto_id_prefix: the id given to a client that sent none begins with it, on 3.1.1 and in MQTT 5\'s Assigned Client Identifier', async (t) => {
    const { port, broker: running } = await broker({ autoIdPrefix: 'gen-' })
    const v5 = await connectV5(t, port, { clientId: '' })
    const assigned = v5.connack.properties?.assignedClientIdentifier ?? ''
    assert.match(assigned, /^gen-[0-9a-f-]{36}$/)
    await connectV5(t, port, { protocolVersion: 4, clientId: '', clean: true })
    const ids = running.clients().map((client) => client.clientId)
    assert.equal(ids.length, 2)
    assert.ok(ids.every((id) => id.startsWith('gen-')), ids.join(', '))
  })

  test('clientid_prefixes: other ids are refused as not authorised (5 / 0x87), as Mosquitto does; mosquitto_pub is told so', async () => {
    const { port } = await broker({ clientidPrefixes: 'secure-' })
    assert.deepEqual(await connectRaw(port, { clientId: 'secure-sensor' }), ACCEPTED)
    assert.deepEqual(await connectRaw(port, { clientId: 'sensor' }), Buffer.from([0x20, 0x02, 0x00, 0x05]))
    assert.equal(await connackCode(port, { clientId: 'sensor', protocolVersion: 5 }), 0x87)
    // An id the broker assigns must begin with the prefix too (it does not, with the default auto-).
    assert.deepEqual(await connectRaw(port, { clientId: '' }), Buffer.from([0x20, 0x02, 0x00, 0x05]))
    const refused = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', 'plain-pub', '-t', 't', '-m', 'm'])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /not authori[sz]ed/i)
    const accepted = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', 'secure-pub', '-t', 't', '-m', 'm'])
    assert.deepEqual(accepted, { code: 0, stdout: '', stderr: '' })
  })

  test('use_username_as_clientid: the username replaces the id (a second login takes the first over); no username is refused (5 / 0x87)', async (t) => {
    const { port, broker: running } = await broker({ useUsernameAsClientid: true })
    const first = await connectV5(t, port, { protocolVersion: 4, clientId: 'phone', username: 'alice' })
    assert.deepEqual(running.clients().map((client) => client.clientId), ['alice'])
    const closed = new Promise<void>((resolve) => first.client.once('close', () => resolve()))
    await connectV5(t, port, { clientId: 'laptop', username: 'alice' })
    await closed
    assert.deepEqual(running.clients().map((client) => client.clientId), ['alice'])
    assert.deepEqual(await connectRaw(port, { clientId: 'nameless' }), Buffer.from([0x20, 0x02, 0x00, 0x05]))
    assert.equal(await connackCode(port, { clientId: 'nameless', protocolVersion: 5 }), 0x87)
  })
})
