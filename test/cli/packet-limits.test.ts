// The shipped roost command (bin/roost.js, built by `npm run build`) against real clients and
// oversized or unfinished uploads: the default max_packet_size of 2,000,000 keeps the process
// small while clients declare 200 MB packets, mosquitto_pub over the limit is refused while others
// are served, MQTT 5 clients read the limit in CONNACK, and incomplete_packet_timeout and
// connect_timeout from a config file close what they should.
import { strict as assert } from 'node:assert'
import { existsSync, readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type MqttClient } from 'mqtt'
import { remainingLength } from '../engine/bad-input/raw'
import { freePort, makeTempDir, ROOT, type RoostProcess, runCommand, startRoost } from './helpers'

const ENTRY = path.join(ROOT, 'bin', 'roost.js')
const MiB = 1024 * 1024

const temp = makeTempDir()
const started: RoostProcess[] = []
const clients: MqttClient[] = []
after(() => temp.remove())
afterEach(async () => {
  for (const client of clients.splice(0)) client.end(true)
  for (const roost of started.splice(0)) {
    roost.kill()
    await roost.exited
  }
})

before(() => {
  assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is missing: run `npm run build` first')
})

async function roost (args: string[]): Promise<RoostProcess> {
  const process = startRoost(args, ROOT, ENTRY)
  started.push(process)
  await process.waitForOutput(' running\n')
  return process
}

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
function memoryOf (pid: number): { peak: number, now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) * 1024
  return { peak: kib('VmHWM'), now: kib('VmRSS') }
}

/** An MQTT.js client that has connected; with its CONNACK. */
async function connected (port: number, options: IClientOptions): Promise<{ client: MqttClient, connack: IConnackPacket }> {
  const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...options })
  clients.push(client)
  // A broker that hangs up mid-publish makes the client's writes fail; the test watches 'close'.
  client.on('error', () => {})
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('close', () => { reject(new Error(`${String(options.clientId)} closed before CONNACK`)) })
  })
  return { client, connack }
}

function closed (client: MqttClient): Promise<void> {
  return new Promise((resolve) => { if (!client.connected) resolve(); else client.once('close', () => { resolve() }) })
}

/**
 * Starts a 200 MiB QoS 1 PUBLISH on a connected client's socket and streams its body, 1 MiB at a
 * time with back-pressure, until the broker hangs up (or, without a limit, all of it): what a
 * client publishing 200 MB sends, without holding 200 MB in the test.
 */
async function streamHugePublish (client: MqttClient): Promise<void> {
  const stream = client.stream
  const topicAndId = Buffer.from([0x00, 0x04, 0x68, 0x75, 0x67, 0x65, 0x00, 0x01])
  stream.write(Buffer.from([0x32, ...remainingLength(topicAndId.length + 200 * MiB), ...topicAndId]))
  const chunk = Buffer.alloc(MiB, 0x62)
  for (let sent = 0; sent < 200 && !stream.destroyed; sent++) {
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => { stream.off('drain', done); stream.off('close', done); resolve() }
        stream.on('drain', done)
        stream.on('close', done)
      })
    }
  }
}

function count (text: string, part: string): number {
  return text.split(part).length - 1
}

describe('roost command: packet size and unfinished packets, with real clients', () => {
  it('four MQTT.js clients declaring 200 MB PUBLISHes are refused from the header: the process stays small and serves on', async (t) => {
    const port = await freePort()
    const broker = await roost(['-p', String(port)])
    const pid = broker.child.pid as number
    const before = memoryOf(pid)
    const publishers = await Promise.all([1, 2, 3, 4].map(async (n) => (await connected(port, { clientId: `huge-${n}`, protocolVersion: 4 })).client))
    await Promise.all(publishers.map(streamHugePublish))
    await Promise.all(publishers.map(closed))
    for (let n = 1; n <= 4; n++) await broker.waitForOutput(`Client huge-${n} (127.0.0.1) sent a packet of 209715213 bytes, over the limit of 2000000; disconnecting.`)
    const during = memoryOf(pid)
    t.diagnostic(`roost RSS: ${Math.round(before.now / MiB)} MiB before, peak ${Math.round(during.peak / MiB)} MiB with 4 x 200 MB declared`)
    // Without the limit the process held every declared byte it received: over 1 GB for four.
    assert.ok(during.peak - before.peak < 64 * MiB, `peak RSS grew by ${Math.round((during.peak - before.peak) / MiB)} MiB`)
    // It serves on: a publish and its echo through the same broker.
    const { client } = await connected(port, { clientId: 'after', protocolVersion: 4 })
    await client.subscribeAsync('after', { qos: 1 })
    const echo = new Promise<string>((resolve) => client.once('message', (_topic, message) => { resolve(message.toString()) }))
    await client.publishAsync('after', 'still here', { qos: 1 })
    assert.equal(await echo, 'still here')
  })

  it('mosquitto_pub over 2,000,000 bytes is refused and logged; mosquitto_sub gets only what came after', async () => {
    const port = await freePort()
    const broker = await roost(['-p', String(port), '-v'])
    const file = temp.write('over.bin', 'x'.repeat(2_000_001))
    const subscriber = runCommand('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'up/#', '-q', '1', '-C', '1', '-v', '-i', 'limit-sub'])
    await broker.waitForOutput('limit-sub 1 up/#')
    const refused = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'up/big', '-q', '1', '-f', file, '-i', 'too-big'])
    // mosquitto_pub's code for a lost connection: the PUBLISH was never acknowledged.
    assert.equal(refused.code, 7, refused.stderr)
    assert.match(broker.stderr(), /Client too-big \(127\.0\.0\.1\) sent a packet of 2000015 bytes, over the limit of 2000000; disconnecting\./)
    const fine = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'up/small', '-q', '1', '-m', 'fits', '-i', 'fits'])
    assert.equal(fine.code, 0, fine.stderr)
    const received = await subscriber
    assert.equal(received.code, 0, received.stderr)
    assert.equal(received.stdout, 'up/small fits\n')
  })

  it('MQTT 5 clients read Maximum Packet Size 2000000 in CONNACK by default (MQTT 5.0, 3.2.2.3.6)', async () => {
    const port = await freePort()
    await roost(['-p', String(port)])
    const { connack } = await connected(port, { clientId: 'v5-reader', protocolVersion: 5 })
    assert.equal(connack.properties?.maximumPacketSize, 2_000_000)
  })

  describe('with connect_timeout and incomplete_packet_timeout from a config file', () => {
    async function configured (): Promise<{ broker: RoostProcess, port: number }> {
      const port = await freePort()
      const conf = temp.write(`timeouts-${port}.conf`, [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'connect_timeout 1',
        'incomplete_packet_timeout 1',
        ''
      ].join('\n'))
      return { broker: await roost(['-c', conf]), port }
    }

    it('a PUBLISH left unfinished by keepalive 0 clients ends them: MQTT 5 with DISCONNECT 0x81, 3.1.1 closed', async () => {
      const { broker, port } = await configured()
      const v5 = (await connected(port, { clientId: 'half-v5', protocolVersion: 5, keepalive: 0 })).client
      const v4 = (await connected(port, { clientId: 'half-v4', protocolVersion: 4, keepalive: 0 })).client
      const disconnect = new Promise<IDisconnectPacket>((resolve) => { v5.once('disconnect', resolve) })
      // The start of a QoS 1 PUBLISH declaring 127 bytes, written under the clients' own framing.
      for (const client of [v5, v4]) client.stream.write(Buffer.from([0x32, 0x7f, 0x00, 0x04, 0x68, 0x61, 0x6c, 0x66]))
      const packet = await disconnect
      assert.equal(packet.reasonCode, 0x81)
      assert.equal(packet.properties?.reasonString, 'packet incomplete after 1 s without data')
      await Promise.all([closed(v5), closed(v4)])
      await broker.waitForOutput('Client half-v4 (127.0.0.1) left a packet unfinished (8 of 129 bytes) with nothing more for 1 s; disconnecting.')
      assert.equal(count(broker.stderr(), 'left a packet unfinished (8 of 129 bytes)'), 2)
    })

    it('a socket that sends no CONNECT is closed after connect_timeout', async () => {
      const { broker, port } = await configured()
      const silent = net.connect(port, '127.0.0.1')
      silent.on('error', () => {})
      await new Promise<void>((resolve) => silent.once('close', () => { resolve() }))
      await broker.waitForOutput('closed: no CONNECT within 1 s.')
    })
  })
})
