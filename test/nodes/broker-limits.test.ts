// The Limits tab's packet size and timeouts on a deployed roost-broker node, with mosquitto_pub:
// a node saved before the packet limit existed keeps taking what its devices sent, a node with the
// editor's default refuses larger packets, and both timeouts come from the node's config.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { collect, embeddedBroker, type FlowNode, helper, listeningBroker, roost, startServer, stopServer } from './support'

const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-limits-'))
/** 3,000,000 bytes: over Mosquitto 2.1's default packet limit, under the protocol's. */
const bigFile = path.join(dir, 'big.bin')
writeFileSync(bigFile, Buffer.alloc(3_000_000, 0x62))

function flow (brokerExtra: Record<string, unknown>): FlowNode[] {
  return [
    embeddedBroker('b1', brokerExtra),
    { id: 'in1', type: 'roost in', broker: 'b1', topic: 'up/#', qos: '1', datatype: 'buffer', wires: [['sink']] },
    { id: 'sink', type: 'helper' }
  ]
}

function mosquittoPub (port: number, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', ...args], (error) => {
      resolve(error === null ? 0 : (typeof error.code === 'number' ? error.code : 1))
    })
  })
}

/** Resolves with the first line the broker node logs that contains `text`. */
function logged (text: string): Promise<string> {
  const node = helper.getNode('b1') as unknown as { on: (event: 'call:log', listener: (call: { args: unknown[] }) => void) => void }
  return new Promise((resolve) => {
    node.on('call:log', (call) => { if (String(call.args[0]).includes(text)) resolve(String(call.args[0])) })
  })
}

describe('roost-broker Limits: packet size and timeouts', () => {
  before(startServer)
  after(async () => {
    await stopServer()
    rmSync(dir, { recursive: true, force: true })
  })
  afterEach(async () => { await helper.unload() })

  it('a node saved before the packet size field keeps the protocol\'s limit: 3 MB from mosquitto_pub reaches roost in', async () => {
    await helper.load(roost, flow({ messageSizeLimit: '0' }))
    const { broker, port } = await listeningBroker('b1')
    assert.equal(broker.options.maxPacketSize, 0)
    // The timeouts it had no fields for either: the engine's defaults.
    assert.deepEqual([broker.options.connectTimeoutSec, broker.options.incompletePacketTimeoutSec], [10, 60])
    const got = collect(helper.getNode('sink'), 1)
    assert.equal(await mosquittoPub(port, ['-t', 'up/big', '-f', bigFile]), 0)
    const [msg] = await got
    assert.equal((msg?.payload as Buffer).length, 3_000_000)
  })

  it('the editor\'s default of 2,000,000 refuses a larger mosquitto_pub, logs it, and serves on', async () => {
    await helper.load(roost, flow({ maxPacketSize: '2000000' }))
    const { port } = await listeningBroker('b1')
    const line = logged('over the limit of 2000000')
    // mosquitto_pub's code for a lost connection: the PUBLISH was never acknowledged.
    assert.equal(await mosquittoPub(port, ['-t', 'up/big', '-f', bigFile, '-i', 'too-big']), 7)
    assert.equal(await line, 'Client too-big (127.0.0.1) sent a packet of 3000015 bytes, over the limit of 2000000; disconnecting.')
    const got = collect(helper.getNode('sink'), 1)
    assert.equal(await mosquittoPub(port, ['-t', 'up/small', '-m', 'fits']), 0)
    const [msg] = await got
    assert.deepEqual([msg?.topic, (msg?.payload as Buffer).toString()], ['up/small', 'fits'])
  })

  it('connect timeout and unfinished packet timeout come from the node\'s config', async () => {
    await helper.load(roost, flow({ maxPacketSize: '2000000', connectTimeout: '1', incompletePacketTimeout: '2' }))
    const { broker, port } = await listeningBroker('b1')
    assert.deepEqual([broker.options.connectTimeoutSec, broker.options.incompletePacketTimeoutSec], [1, 2])
    const line = logged('no CONNECT within')
    const silent = net.connect(port, '127.0.0.1')
    silent.on('error', () => {})
    await new Promise<void>((resolve) => silent.once('close', () => { resolve() }))
    assert.match(await line, /^Client 127\.0\.0\.1:\d+ closed: no CONNECT within 1 s\.$/)
  })
})
