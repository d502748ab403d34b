// MQTT.js 5 through an enhanced authentication exchange (MQTT 5.0, 4.12): CONNECT names a method,
// the broker's hook challenges with AUTH 0x18, MQTT.js answers from its handleAuth, and CONNACK
// carries the method and the hook's final data; a failed exchange is refused in CONNACK.
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import mqtt, { type IConnackPacket } from 'mqtt'
import type { IAuthPacket } from 'mqtt-packet'
import type { EnhancedAuthRequest, EnhancedAuthResult } from '../../lib'
import { startBroker } from '../helpers/broker'
import { bounded, WAIT_MS } from './mqttjs'

const METHOD = 'X-CHALLENGE'

/** Step 0: the client's greeting earns a nonce; step 1: the nonce, signed, earns success. */
function challenge (seen: Array<Pick<EnhancedAuthRequest, 'method' | 'step' | 'reauthenticate'> & { data: string }>) {
  return (request: EnhancedAuthRequest): EnhancedAuthResult => {
    seen.push({ method: request.method, step: request.step, reauthenticate: request.reauthenticate, data: request.data?.toString() ?? '' })
    if (request.step === 0 && request.data?.toString() === 'hello') return { outcome: 'continue', data: Buffer.from('nonce-7') }
    if (request.step === 1 && request.data?.toString() === 'nonce-7/signed') return { outcome: 'success', data: Buffer.from('welcome') }
    return { outcome: 'fail', reasonCode: 0x87 }
  }
}

function connectWithChallenge (t: TestContext, port: number, signature: string): mqtt.MqttClient {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    clientId: 'challenged',
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('hello') }
  })
  client.handleAuth = (packet: IAuthPacket, callback: mqtt.PacketCallback) => {
    const nonce = packet.properties?.authenticationData?.toString() ?? ''
    callback(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(`${nonce}/${signature}`) } })
  }
  t.after(() => client.end(true))
  return client
}

test('MQTT.js completes a challenge/response exchange and CONNACK carries the method and final data [MQTT-4.12.0-5]', async (t) => {
  const seen: Parameters<typeof challenge>[0] = []
  const h = await startBroker(t, {}, { auth: { enhancedAuthMethods: [METHOD], authenticateEnhanced: challenge(seen) } })
  const client = connectWithChallenge(t, h.port, 'signed')
  const connack = await bounded(new Promise<IConnackPacket>((resolve) => client.once('connect', resolve)), 'CONNACK')
  assert.equal(connack.reasonCode, 0)
  assert.equal(connack.properties?.authenticationMethod, METHOD)
  assert.deepEqual(connack.properties?.authenticationData, Buffer.from('welcome'))
  assert.deepEqual(seen, [
    { method: METHOD, step: 0, reauthenticate: false, data: 'hello' },
    { method: METHOD, step: 1, reauthenticate: false, data: 'nonce-7/signed' }
  ])
  assert.deepEqual(h.broker.clients().map((c) => c.clientId), ['challenged'])
})

test('a wrong answer to the challenge is refused with the hook\'s reason code in CONNACK [MQTT-4.12.0-4]', async (t) => {
  const seen: Parameters<typeof challenge>[0] = []
  const h = await startBroker(t, {}, { auth: { enhancedAuthMethods: [METHOD], authenticateEnhanced: challenge(seen) } })
  const client = connectWithChallenge(t, h.port, 'forged')
  const error = await bounded(new Promise<Error & { code?: number }>((resolve) => client.once('error', resolve)), 'refusal')
  assert.equal(error.code, 0x87)
  assert.equal(seen.length, 2)
  assert.deepEqual(h.broker.clients(), [])
})
