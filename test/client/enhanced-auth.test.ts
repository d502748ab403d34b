// The client engine's MQTT 5 enhanced authentication (MQTT 5.0, 4.12): against Roost's broker with
// an `authenticateEnhanced` hook (a challenge/response and a re-authentication, AUTH 0x18 / 0x19 /
// 0x00), and against a scripted server for what a real broker should never send.
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { ClientError, type ClientOptionsInput, createClient, type EnhancedAuthRequest, type EnhancedAuthResult, type MqttClient } from '../../lib'
import { startBroker } from '../helpers/broker'
import { next } from './helpers'
import { ScriptedServer } from './scripted-server'

const METHOD = 'X-CHALLENGE'

interface Seen { step: number, reauthenticate: boolean, data: string }

/** The broker's side: a greeting earns a nonce (one per exchange), the signed nonce earns success. */
function challenger (seen: Seen[], refuseReauth = false) {
  let exchanges = 0
  return (request: EnhancedAuthRequest): EnhancedAuthResult => {
    seen.push({ step: request.step, reauthenticate: request.reauthenticate, data: request.data?.toString() ?? '' })
    if (request.step === 0 && request.data?.toString() === 'hello') {
      exchanges++
      return { outcome: 'continue', data: Buffer.from(`nonce-${exchanges}`) }
    }
    if (request.step === 1 && request.data?.toString() === `nonce-${exchanges}/signed` && !(refuseReauth && request.reauthenticate)) {
      return { outcome: 'success', data: Buffer.from(`welcome-${exchanges}`) }
    }
    return { outcome: 'fail', reasonCode: 0x87 }
  }
}

/** The client's side: says hello, signs whatever nonce comes (as `signature`), records the server's final data. */
function clientFor (t: TestContext, port: number, signature = 'signed', extra: Partial<ClientOptionsInput> = {}): { client: MqttClient, successes: string[] } {
  const successes: string[] = []
  const client = createClient({
    host: '127.0.0.1',
    port,
    protocolVersion: 5,
    clientId: 'scram-like',
    reconnectPeriodMs: 0,
    enhancedAuth: {
      method: METHOD,
      initialData: () => Buffer.from('hello'),
      // Asynchronous on purpose: a real method computes a proof (a hash, a key exchange).
      onChallenge: async ({ data }) => { await Promise.resolve(); return Buffer.from(`${data?.toString() ?? ''}/${signature}`) },
      onSuccess: (data, reauthenticate) => { successes.push(`${reauthenticate ? 're:' : ''}${data?.toString() ?? ''}`) }
    },
    ...extra
  })
  client.on('error', () => {})
  t.after(() => client.end(true))
  return { client, successes }
}

/** Subscribes to a topic, publishes to it and resolves with the payload that comes back. */
async function echo (client: MqttClient, topic: string, payload: string): Promise<string> {
  await client.subscribe({ filter: topic, qos: 1 })
  const echoed = next<[{ payload: Buffer }]>(client, 'message')
  await client.publish({ topic, payload, qos: 1 })
  return (await echoed)[0].payload.toString()
}

test('the client answers the broker\'s AUTH challenge and CONNACK carries the method and final data [MQTT-4.12.0-5]', async (t) => {
  const seen: Seen[] = []
  const h = await startBroker(t, {}, { auth: { enhancedAuthMethods: [METHOD], authenticateEnhanced: challenger(seen) } })
  const { client, successes } = clientFor(t, h.port)
  client.connect()
  await next(client, 'connect')
  assert.deepEqual(seen, [
    { step: 0, reauthenticate: false, data: 'hello' },
    { step: 1, reauthenticate: false, data: 'nonce-1/signed' }
  ])
  assert.deepEqual(successes, ['welcome-1'])
  assert.deepEqual(h.broker.clients().map((c) => c.clientId), ['scram-like'])
  // Authenticated, the connection carries messages like any other.
  assert.equal(await echo(client, 'auth/echo', 'after auth'), 'after auth')
})

test('a wrong answer is refused in CONNACK with the hook\'s reason code [MQTT-4.12.0-4]', async (t) => {
  const seen: Seen[] = []
  const h = await startBroker(t, {}, { auth: { enhancedAuthMethods: [METHOD], authenticateEnhanced: challenger(seen) } })
  const { client, successes } = clientFor(t, h.port, 'forged')
  const errors: ClientError[] = []
  client.on('error', (error) => { errors.push(error as ClientError) })
  const ended = next(client, 'end')
  client.connect()
  await ended
  assert.deepEqual(errors.map((error) => [error.code, error.reasonCode]), [['REFUSED', 0x87]])
  assert.equal(seen.length, 2)
  assert.deepEqual(successes, [])
  assert.deepEqual(h.broker.clients(), [])
})

test('a method the broker does not know is refused with 0x8C Bad authentication method [MQTT-4.12.0-1]', async (t) => {
  const h = await startBroker(t, {}, { auth: { enhancedAuthMethods: ['SCRAM-SHA-256'], authenticateEnhanced: challenger([]) } })
  const { client } = clientFor(t, h.port)
  const errors: ClientError[] = []
  client.on('error', (error) => { errors.push(error as ClientError) })
  const ended = next(client, 'end')
  client.connect()
  await ended
  assert.deepEqual(errors.map((error) => [error.code, error.reasonCode]), [['REFUSED', 0x8c]])
})

test('reauthenticate() runs the exchange again with AUTH 0x19 and resolves on AUTH 0x00; the connection stays (MQTT 5.0, 4.12.1)', async (t) => {
  const seen: Seen[] = []
  const h = await startBroker(t, {}, { auth: { enhancedAuthMethods: [METHOD], authenticateEnhanced: challenger(seen) } })
  const { client, successes } = clientFor(t, h.port)
  client.connect()
  await next(client, 'connect')
  // Two calls while one runs share it: one AUTH 0x19 on the wire.
  await Promise.all([client.reauthenticate(), client.reauthenticate()])
  assert.deepEqual(seen.slice(2), [
    { step: 0, reauthenticate: true, data: 'hello' },
    { step: 1, reauthenticate: true, data: 'nonce-2/signed' }
  ])
  assert.deepEqual(successes, ['welcome-1', 're:welcome-2'])
  assert.ok(client.connected)
  assert.equal(await echo(client, 'auth/again', 'still here'), 'still here')
})

test('a refused re-authentication ends the connection and reauthenticate() rejects [MQTT-4.12.1-2]', async (t) => {
  const seen: Seen[] = []
  const h = await startBroker(t, {}, { auth: { enhancedAuthMethods: [METHOD], authenticateEnhanced: challenger(seen, true) } })
  const { client } = clientFor(t, h.port)
  client.connect()
  await next(client, 'connect')
  const failure = await client.reauthenticate().then(() => undefined, (error: unknown) => error)
  assert.ok(failure instanceof ClientError)
  assert.equal(failure.code, 'CONNECTION_LOST')
  assert.ok(!client.connected)
})

test('enhancedAuth is refused before MQTT 5, and reauthenticate() without it rejects', async (t) => {
  assert.throws(() => createClient({ host: '127.0.0.1', protocolVersion: 4, enhancedAuth: { method: METHOD, onChallenge: () => undefined } }), /needs protocolVersion 5/)
  assert.throws(() => createClient({ host: '127.0.0.1', protocolVersion: 5, enhancedAuth: { method: '', onChallenge: () => undefined } }), /method/)
  const plain = createClient({ host: '127.0.0.1', protocolVersion: 5 })
  t.after(() => plain.end(true))
  await assert.rejects(plain.reauthenticate(), /enhancedAuth/)
})

test('scripted server: CONNECT carries method and data; an empty AUTH (no method) is a protocol error, not a decoder failure', async (t) => {
  const server = await new ScriptedServer().listen()
  t.after(() => server.close())
  const { client } = clientFor(t, server.port)
  const errors: Error[] = []
  client.on('error', (error) => { errors.push(error) })
  client.connect()
  const peer = await server.connection()
  const connect = await peer.expect('connect')
  assert.equal(connect.properties?.authenticationMethod, METHOD)
  assert.deepEqual(connect.properties?.authenticationData, Buffer.from('hello'))
  // AUTH with remaining length 0: reason Success, no properties (MQTT 5.0, 3.15.2.1). mqtt-packet
  // cannot read it; the client does, and refuses it for the missing method [MQTT-4.12.0-5].
  peer.sendRaw(Buffer.from([0xf0, 0x00]))
  await peer.closedByClient()
  assert.ok(errors.some((error) => /AUTH with method "undefined"/.test(error.message)), errors.map((e) => e.message).join('\n'))
})

test('scripted server: AUTH naming another method, and a CONNACK without the method, close the connection [MQTT-4.12.0-5]', async (t) => {
  const server = await new ScriptedServer().listen()
  t.after(() => server.close())
  const { client } = clientFor(t, server.port, 'signed', { reconnectPeriodMs: 20 })
  const errors: Error[] = []
  client.on('error', (error) => { errors.push(error) })
  client.connect()
  let peer = await server.connection()
  await peer.expect('connect')
  peer.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'OTHER', authenticationData: Buffer.from('n') } })
  await peer.closedByClient()
  peer = await server.connection()
  await peer.expect('connect')
  peer.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('n') } })
  const answer = await peer.expect('auth')
  assert.deepEqual([answer.reasonCode, answer.properties?.authenticationMethod, answer.properties?.authenticationData], [0x18, METHOD, Buffer.from('n/signed')])
  peer.send({ cmd: 'connack', sessionPresent: false, reasonCode: 0 })
  await peer.closedByClient()
  assert.ok(errors.some((error) => /AUTH with method "OTHER"/.test(error.message)), errors.map((e) => e.message).join('\n'))
  assert.ok(errors.some((error) => /CONNACK with authentication method "undefined"/.test(error.message)), errors.map((e) => e.message).join('\n'))
})

test('scripted server: AUTH to a client that named no method is a protocol error [MQTT-4.12.0-6]', async (t) => {
  const server = await new ScriptedServer().listen()
  t.after(() => server.close())
  const client = createClient({ host: '127.0.0.1', port: server.port, protocolVersion: 5, reconnectPeriodMs: 0 })
  const errors: Error[] = []
  client.on('error', (error) => { errors.push(error) })
  t.after(() => client.end(true))
  client.connect()
  const peer = await server.connection()
  await peer.accept()
  await next(client, 'connect')
  peer.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD } })
  await peer.closedByClient()
  assert.ok(errors.some((error) => /AUTH without enhanced authentication/.test(error.message)), errors.map((e) => e.message).join('\n'))
})
