// The editor's Roost sidebar, runtime half: the history ring of an embedded broker (exact rates
// from a stepped clock), the admin endpoint GET /roost/live with the clients and history, no
// history left after a stop, and Node-RED's permission check on the endpoint with adminAuth on.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { createBroker } from '../../lib'
import type { BrokerNode } from '../../nodes/broker/runtime'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { BrokerHistory } from '../../nodes/sidebar/history'
import { PASSWORD_HASH_PATH } from '../../nodes/broker/password-hash'
import { STORE_REMOVAL_PATH } from '../../nodes/broker/store-removal'
import { LIVE_VIEW_PATH, watchedBrokerCount } from '../../nodes/sidebar/runtime'
import { EXPLORER_PATH } from '../../nodes/explorer/runtime'
import { embeddedBroker, freePort, helper, roost, startServer, stopServer } from './support'

const root = path.resolve(__dirname, '../..')

describe('Roost sidebar: history and endpoint', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('a history sample gives PUBLISH messages per second in and out and the connections, from a stepped clock', async () => {
    const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] })
    const [address] = await broker.listen()
    let clock = 1_000_000
    const history = new BrokerHistory(broker, () => clock)
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port: address?.port ?? 0, clientId: 'history-probe', reconnectPeriod: 0 })
    try {
      await client.subscribeAsync('h/#', { qos: 1 })
      const echoed = new Promise<void>((resolve) => {
        let count = 0
        client.on('message', () => { if (++count === 10) resolve() })
      })
      for (let i = 0; i < 10; i++) await client.publishAsync(`h/${i}`, 'x', { qos: 1 })
      await echoed
      clock += 5000
      assert.deepEqual(history.sample(), { at: 1_005_000, messagesInPerSec: 2, messagesOutPerSec: 2, connections: 1 })
      clock += 5000
      assert.deepEqual(history.sample(), { at: 1_010_000, messagesInPerSec: 0, messagesOutPerSec: 0, connections: 1 })
      assert.deepEqual(history.samples().map((s) => s.at), [1_000_000, 1_005_000, 1_010_000])
      // The ring keeps ten minutes of five-second samples.
      for (let i = 0; i < 200; i++) { clock += 5000; history.sample() }
      assert.equal(history.samples().length, 120)
    } finally {
      history.stop()
      await client.endAsync()
      await broker.close()
    }
  })

  it('GET /roost/live: each embedded broker with its clients (id, address, protocol, subscriptions, since) and history', async () => {
    await helper.load(roost, [embeddedBroker('b1', { name: 'house broker' })])
    const transport = (helper.getNode('b1') as unknown as BrokerNode).transport as EmbeddedTransport
    await transport.ready()
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port: transport.broker.addresses[0]?.port ?? 0, clientId: 'sidebar-probe', protocolVersion: 5, reconnectPeriod: 0 })
    try {
      await client.subscribeAsync(['a/#', 'b/#', 'c'], { qos: 0 })
      const response = await helper.request().get(LIVE_VIEW_PATH).expect(200)
      const body = response.body as { sampleEveryMs: number, brokers: Array<{ id: string, label: string, clients: Array<Record<string, unknown>>, history: unknown[] }> }
      assert.equal(body.sampleEveryMs, 5000)
      assert.equal(body.brokers.length, 1)
      const [broker] = body.brokers
      assert.equal(broker?.id, 'b1')
      assert.equal(broker?.label, 'house broker')
      const local = client.stream as unknown as { localPort: number }
      const [listed] = broker?.clients ?? []
      assert.match(String(listed?.connectedSince), /^\d{4}-\d\d-\d\dT/)
      assert.deepEqual({ ...listed, connectedSince: undefined }, { clientId: 'sidebar-probe', address: `127.0.0.1:${local.localPort}`, protocol: 'MQTT 5', subscriptions: 3, connectedSince: undefined })
      // In memory: no disk store to show (test/nodes/persistence.test.ts has one).
      assert.equal((broker as { store?: unknown } | undefined)?.store, null)
      assert.deepEqual(broker?.history, [{ at: (broker?.history[0] as { at: number }).at, messagesInPerSec: 0, messagesOutPerSec: 0, connections: 0 }])
    } finally {
      await client.endAsync()
    }
    await helper.unload()
    // Stopping the broker node stops and forgets its history: no timer left behind.
    assert.equal(watchedBrokerCount(), 0)
  })
})

describe('Roost admin endpoints with adminAuth (Node-RED run as a separate process)', () => {
  const userDir = mkdtempSync(path.join(os.tmpdir(), 'roost-adminauth-'))
  let nodeRed: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let editorPort = 0
  const password = 'correct horse'

  before(async () => {
    const built = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' })
    assert.equal(built.status, 0, 'build failed')
    editorPort = await freePort()
    const mqttPort = await freePort()
    const bcrypt = require('bcryptjs') as { hashSync: (text: string, rounds: number) => string }
    mkdirSync(path.join(userDir, 'node_modules'), { recursive: true })
    symlinkSync(root, path.join(userDir, 'node_modules', 'node-red-contrib-roost'), 'dir')
    writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'adminauth-test', version: '0.0.0', private: true, dependencies: { 'node-red-contrib-roost': '*' } }))
    writeFileSync(path.join(userDir, 'settings.js'), `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${editorPort},
  flowFile: 'flows.json',
  telemetry: { enabled: false },
  editorTheme: { tours: false },
  adminAuth: { type: 'credentials', users: [
    { username: 'admin', password: ${JSON.stringify(bcrypt.hashSync(password, 8))}, permissions: '*' },
    { username: 'viewer', password: ${JSON.stringify(bcrypt.hashSync(password, 8))}, permissions: 'read' },
    { username: 'flows', password: ${JSON.stringify(bcrypt.hashSync(password, 8))}, permissions: ['flows.read'] }
  ] },
  logging: { console: { level: 'info', metrics: false, audit: false } }
}
`)
    writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify([
      { id: 'auth-broker', type: 'roost-broker', name: 'guarded', mode: 'embedded', port: String(mqttPort), bindAddress: '127.0.0.1', allowAnonymous: true, sysInterval: '0' }
    ]))
    const red = path.join(path.dirname(require.resolve('node-red/package.json')), 'red.js')
    const child = spawn(process.execPath, [red, '--userDir', userDir, '--port', String(editorPort)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    nodeRed = child
    exited = new Promise((resolve) => { child.once('exit', () => { resolve() }) })
    let log = ''
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        log += chunk.toString()
        if (log.includes(`listen socket on port ${mqttPort}`) && log.includes('Started flows')) resolve()
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', (code) => { reject(new Error(`Node-RED exited with ${String(code)}:\n${log}`)) })
    })
  })

  after(async () => {
    nodeRed?.kill('SIGTERM')
    await exited
    rmSync(userDir, { recursive: true, force: true })
  })

  async function token (username: string, scope: string): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${editorPort}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password })
    })
    assert.equal(response.status, 200)
    const body = await response.json() as { access_token: string }
    return body.access_token
  }

  it('401 without a token', async () => {
    const response = await fetch(`http://127.0.0.1:${editorPort}${LIVE_VIEW_PATH}`)
    assert.equal(response.status, 401)
  })

  it('200 with the broker for a user with full or read permission; 401 for one who may only read flows', async () => {
    for (const [user, scope] of [['admin', '*'], ['viewer', 'read']] as const) {
      const response = await fetch(`http://127.0.0.1:${editorPort}${LIVE_VIEW_PATH}`, { headers: { authorization: `Bearer ${await token(user, scope)}` } })
      assert.equal(response.status, 200, user)
      const body = await response.json() as { brokers: Array<{ id: string, label: string, clients: unknown[] }> }
      assert.deepEqual(body.brokers.map((b) => [b.id, b.label, b.clients]), [['auth-broker', 'guarded', []]], user)
    }
    const denied = await fetch(`http://127.0.0.1:${editorPort}${LIVE_VIEW_PATH}`, { headers: { authorization: `Bearer ${await token('flows', 'flows.read')}` } })
    assert.equal(denied.status, 401)
  })

  it('the roost-broker dialog\'s password hashing needs roost.write: a full user gets a $7$ hash, a read-only user 401', async () => {
    const hashFor = async (user: string, scope: string): Promise<Response> => await fetch(`http://127.0.0.1:${editorPort}${PASSWORD_HASH_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(user, scope)}` },
      body: JSON.stringify({ password: 's3cret' })
    })
    const allowed = await hashFor('admin', '*')
    assert.equal(allowed.status, 200)
    assert.match(((await allowed.json()) as { hash: string }).hash, /^\$7\$101\$/)
    assert.equal((await hashFor('viewer', 'read')).status, 401)
    const anonymous = await fetch(`http://127.0.0.1:${editorPort}${PASSWORD_HASH_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"password":"x"}' })
    assert.equal(anonymous.status, 401)
  })
  it('marking a deleted broker\'s data for removal needs roost.write: a full user 200, a read-only user 401', async () => {
    const mark = async (headers: Record<string, string>): Promise<Response> => await fetch(`http://127.0.0.1:${editorPort}${STORE_REMOVAL_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      // remove: false only clears a mark, so the running broker's data stays whatever the answer.
      body: JSON.stringify({ id: 'auth-broker', remove: false })
    })
    const allowed = await mark({ authorization: `Bearer ${await token('admin', '*')}` })
    assert.equal(allowed.status, 200)
    assert.deepEqual(await allowed.json(), { id: 'auth-broker', remove: false })
    assert.equal((await mark({ authorization: `Bearer ${await token('viewer', 'read')}` })).status, 401)
    assert.equal((await mark({})).status, 401)
  })

  it('the topic explorer: a read-only user browses and opens a view but may not publish or clear (401); a full user may', async () => {
    const viewer = { authorization: `Bearer ${await token('viewer', 'read')}` }
    const admin = { authorization: `Bearer ${await token('admin', '*')}` }
    const json = { 'content-type': 'application/json' }
    const base = `http://127.0.0.1:${editorPort}${EXPLORER_PATH}/auth-broker`
    assert.equal((await fetch(`${base}/children`, { headers: viewer })).status, 200)
    assert.equal((await fetch(`${base}/watch`, { method: 'POST', headers: viewer })).status, 200)
    assert.equal((await fetch(`${base}/children`)).status, 401)
    const publish = async (headers: Record<string, string>): Promise<number> => (await fetch(`${base}/publish`, {
      method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify({ topic: 'guarded/t', payload: 'v', retain: true })
    })).status
    const clear = async (headers: Record<string, string>): Promise<number> => (await fetch(`${base}/clear`, {
      method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify({ topic: 'guarded/t' })
    })).status
    assert.equal(await publish(viewer), 401)
    assert.equal(await clear(viewer), 401)
    assert.equal(await publish(admin), 200)
    const after = await fetch(`${base}/topic?topic=guarded%2Ft`, { headers: viewer })
    assert.equal(((await after.json()) as { preview: string }).preview, 'v')
    assert.equal(await clear(admin), 200)
    assert.equal((await fetch(`${base}/topic?topic=guarded%2Ft`, { headers: viewer })).status, 404)
  })
})
