// The reason a broker gives when it ends a connection (MQTT 5.0, 4.13) must reach a client that
// is still sending. The broker half-closes and keeps reading what arrives until the client closes
// its side: a socket closed under incoming data answers with a reset, and a client whose write
// fails first (a broken pipe) never reads the DISCONNECT or CONNACK waiting for it. This is Paho's
// test_flow_control2 failure, here with Debian's paho-mqtt and with a raw socket.
import assert from 'node:assert/strict'
import net from 'node:net'
import { test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { freePort, makeTempDir, startRoost } from '../cli/helpers'
import { startBroker } from '../helpers/broker'
import { startPahoScript } from './paho-stalls'

/** Still being written when the broker's answer comes; under the explicit packet limit. */
const IN_FLIGHT_BYTES = 32 * 1024 * 1024
const MAX_PACKET_BYTES = 64 * 1024 * 1024

test('paho, still writing a 32 MB PUBLISH, reads the DISCONNECT 0x94 its previous PUBLISH earned', { timeout: 60_000 }, async (t) => {
  const h = await startBroker(t, { maxPacketSize: MAX_PACKET_BYTES, maxTopicAlias: 10 })
  const { first } = await startPahoScript(t, [String(h.port), 'inflight', String(IN_FLIGHT_BYTES)])
  // Not 7 (paho's "connection lost", what a reset or a broken pipe gives).
  assert.deepEqual(first, { reason: 0x94, properties: { ReasonString: 'topic alias 1000 outside 1..10' } })
})

/** Connects on a plain socket, sends CONNECT and `trailing` at once, and gives back every byte received until the broker closes. */
async function connectWithDataInFlight (port: number, connect: mqttPacket.IConnectPacket, trailing: Buffer): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  // A reset or a broken pipe is an outcome here, not a failure of the test itself.
  socket.on('error', () => {})
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.write(mqttPacket.generate(connect, { protocolVersion: connect.protocolVersion }))
  socket.write(trailing)
  await closed
  return Buffer.concat(chunks)
}

test('a client that sends 32 MB right behind a refused CONNECT still reads the refusing CONNACK, every time', { timeout: 120_000 }, async (t) => {
  // The broker in its own process, as in production: in one process the test's own writes and
  // the broker's reads take turns in one event loop, which hides the race.
  const temp = makeTempDir()
  t.after(temp.remove)
  const port = await freePort()
  const config = temp.write('roost.conf', `listener ${port} 127.0.0.1\nallow_anonymous false\nmax_packet_size ${MAX_PACKET_BYTES}\n`)
  const roost = startRoost(['-c', config])
  t.after(roost.kill)
  await roost.waitForOutput(' running\n')
  const trailing = Buffer.alloc(IN_FLIGHT_BYTES)
  const refusals: Array<[4 | 5, mqttPacket.IConnackPacket]> = [
    [5, { cmd: 'connack', sessionPresent: false, reasonCode: 0x87, properties: { reasonString: 'not authorised' } }],
    [4, { cmd: 'connack', sessionPresent: false, returnCode: 5 }]
  ]
  // Without the half-close the CONNACK was lost about every other time: six tries each.
  for (const [protocolVersion, connack] of refusals) {
    for (let attempt = 1; attempt <= 6; attempt++) {
      const connect: mqttPacket.IConnectPacket = { cmd: 'connect', protocolId: 'MQTT', protocolVersion, clean: true, keepalive: 0, clientId: 'in-flight', username: 'nobody', password: Buffer.from('wrong') }
      const received = await connectWithDataInFlight(port, connect, trailing)
      assert.deepEqual(received, mqttPacket.generate(connack, { protocolVersion }), `MQTT ${protocolVersion}, try ${attempt}`)
    }
  }
  assert.equal(roost.child.exitCode, null)
})
