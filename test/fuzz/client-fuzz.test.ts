// The client engine against a hostile server: what `roost in` and `roost out` on a remote broker,
// bridges and `roost sub` run inside Node-RED or the `roost` process, where one exception thrown
// out of a socket callback would end the whole process. A server on loopback accepts each
// connection, answers its CONNECT with a valid CONNACK (mostly) and then sends the fuzzer's packets
// of every type, valid and mutated, cut into random chunks. Nothing may throw out of the client; it
// reports what it refuses as an error, ends its connection and, once end() is called, leaves no
// socket or timer behind; and a client made afterwards still does a QoS 1 round trip.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { mutatePacket } from '../../bench/fuzz/mutate'
import { assemble, laterPacket, type Version } from '../../bench/fuzz/packets'
import { Random } from '../../bench/fuzz/random'
import { type Broker, createBroker, createClient, type MqttClient } from '../../lib'
import { RecordingLogger } from '../helpers/broker'

/** Connections, one client each: enough to reach every packet type of the three versions, mutated many ways. */
const CASES = 1000
/** Clients connected at once. */
const CONCURRENCY = 12
/** Upper bound for one case; a case that hangs fails the test instead of the run. */
const CASE_LIMIT_MS = 15_000
/** Longest wait for the server to see a connection the client ended. A guard, not a timing. */
const CLOSE_GUARD_MS = 5000

function connack (version: Version, random: Random): Buffer {
  if (version === 5) {
    return mqttPacket.generate({ cmd: 'connack', reasonCode: 0, sessionPresent: random.chance(0.3), properties: { receiveMaximum: random.int(1, 50), topicAliasMaximum: random.int(0, 10) } }, { protocolVersion: 5 })
  }
  return mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: random.chance(0.3) }, { protocolVersion: version })
}

/** What the server sends once the client's CONNECT arrived, cut into chunks. */
function script (random: Random, version: Version): Buffer[] {
  const parts: Buffer[] = [random.chance(0.9) ? connack(version, random) : mutatePacket(random, laterPacket(random, version)).bytes]
  for (let count = random.int(1, 12); count > 0; count--) {
    const packet = laterPacket(random, version)
    parts.push(random.chance(0.55) ? mutatePacket(random, packet).bytes : assemble(packet))
  }
  if (random.chance(0.1)) parts.push(random.bytes(random.int(1, 200)))
  const bytes = Buffer.concat(parts)
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length;) {
    const size = random.int(1, Math.max(1, Math.min(bytes.length - at, 400)))
    chunks.push(bytes.subarray(at, at + size))
    at += size
  }
  return chunks
}

/** A server for one case: the client's CONNECT (its first bytes) in, the script out, then it hangs up. */
class HostileServer {
  readonly server = net.createServer()
  readonly sockets = new Set<net.Socket>()

  constructor (chunks: readonly Buffer[]) {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => this.sockets.delete(socket))
      socket.once('data', () => {
        for (const chunk of chunks) if (!socket.destroyed) socket.write(chunk)
        // Held a moment for the client to act on it, then the server hangs up.
        setTimeout(() => socket.destroy(), 50)
      })
    })
  }

  async listen (): Promise<number> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    return (this.server.address() as net.AddressInfo).port
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

let broker: Broker
let brokerPort: number

before(async () => {
  broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], sysIntervalSec: 0 }, { logger: new RecordingLogger() })
  const [address] = await broker.listen()
  brokerPort = address?.port as number
})
after(async () => {
  await broker.close()
})

/** Runs one case; returns how many connections its server still held after the client ended. */
async function runCase (random: Random, index: number, errors: string[]): Promise<number> {
  const version = random.pick<Version>([3, 4, 5])
  const hostile = new HostileServer(script(random, version))
  const hostilePort = await hostile.listen()
  const client: MqttClient = createClient({
    host: '127.0.0.1',
    port: hostilePort,
    clientId: `fuzz-${index}`,
    protocolVersion: version,
    // One connection per case: what the server sends next time is another case's.
    reconnectPeriodMs: 0,
    connectTimeoutMs: 5000,
    keepaliveSec: 0,
    logger: new RecordingLogger()
  })
  client.on('error', (error) => { errors.push(error.message) })
  // Not events.once: it would reject on the 'error' events this test expects.
  const closed = new Promise<void>((resolve) => { client.once('close', () => resolve()) })
  client.connect()
  const limit = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`case ${index} (v${version}) did not close`)), CASE_LIMIT_MS).unref())
  try {
    await Promise.race([closed, limit])
    await Promise.race([client.end(true), limit])
    // The server sees the client's close a moment later; a socket the client kept would stay.
    for (let waited = 0; hostile.sockets.size > 0 && waited < CLOSE_GUARD_MS; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
    return hostile.sockets.size
  } finally {
    await hostile.close()
  }
}

test('the client engine survives a server sending mutated packets of every type: errors reported, nothing thrown, nothing left', { timeout: 300_000 }, async () => {
  const random = new Random(20261205)
  const errors: string[] = []
  const uncaught: unknown[] = []
  let leftOpen = 0
  const onUncaught = (error: unknown): void => { uncaught.push(error) }
  process.on('uncaughtException', onUncaught)
  try {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < CASES) {
        const index = next++
        leftOpen += await runCase(new Random(random.int(1, 0x7fffffff)), index, errors)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  } finally {
    process.off('uncaughtException', onUncaught)
  }
  assert.deepEqual(uncaught, [])
  // The mutations were seen as what they are: the client refused some of them with an error.
  assert.ok(errors.length > 0, 'no case was refused')
  // Every client ended its connection: no server still held one once end() had resolved.
  assert.equal(leftOpen, 0)
  // And the engine still works against a real broker.
  const client = createClient({ host: '127.0.0.1', port: brokerPort, clientId: 'after-fuzz', protocolVersion: 5 })
  try {
    client.connect()
    await once(client, 'connect')
    await client.subscribe([{ filter: 'after/fuzz', qos: 1 }])
    const received = once(client, 'message')
    await client.publish({ topic: 'after/fuzz', payload: 'still here', qos: 1 })
    const [message] = await received as [{ payload: Buffer }]
    assert.equal(message.payload.toString(), 'still here')
  } finally {
    await client.end()
  }
})
