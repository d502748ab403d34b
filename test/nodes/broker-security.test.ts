// The roost-broker node's Security tab deployed with node-red-node-test-helper and reached by real
// clients: a flow saved before the tab (port, bindAddress, plain-text users in credentials) works
// as it always did; users stored as the dialog stores them ($7$ hashes), the access-rule table
// and the client-id words hold for mosquitto_pub, mosquitto_sub and MQTT.js; values the dialog
// cannot use are refused with a message naming the row, binding nothing.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { hashForDialog } from '../../nodes/broker/password-hash'
import type { BrokerNode } from '../../nodes/broker/runtime'
import { ProcessPool } from '../clients/processes'
import { collect, embeddedBroker, type FlowNode, freePort, helper, listeningBroker, portIsFree, roost, startServer, stopServer } from './support'

/** A roost-broker node exactly as the release before the Security tab saved it. */
function savedBeforeTheTab (port: number): FlowNode[] {
  return [
    { id: 'old-broker', type: 'roost-broker', name: 'Local broker', mode: 'embedded', port: String(port), bindAddress: '127.0.0.1', allowAnonymous: false, maxConnections: '-1', maxInflightMessages: '20', maxQueuedMessages: '1000', messageSizeLimit: '0', maxKeepalive: '65535', sysInterval: '0', persistence: false },
    { id: 'old-in', type: 'roost in', broker: 'old-broker', topic: 'old/#', qos: '1', datatype: 'utf8', wires: [['sink']] },
    { id: 'sink', type: 'helper' }
  ]
}

async function refusal (options: mqtt.IClientOptions): Promise<string> {
  const client = mqtt.connect({ ...options, reconnectPeriod: 0, connectTimeout: 5000 })
  try {
    return await new Promise<string>((resolve, reject) => {
      client.once('connect', () => { reject(new Error('connected')) })
      client.once('error', (error) => { resolve(error.message) })
    })
  } finally {
    client.end(true)
  }
}

function logged (): string[] {
  return helper.log().args.map((args) => (args[0] as { msg: string }).msg)
}

describe('roost-broker Security tab, deployed', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('a flow saved before the tab deploys as before: its plain-text user gets in through MQTT.js, others are refused', async () => {
    const port = await freePort()
    await helper.load([roost], savedBeforeTheTab(port), { 'old-broker': { users: JSON.stringify([{ username: 'sensor', password: 's3cret' }]) } })
    await listeningBroker('old-broker')
    const got = collect(helper.getNode('sink'), 1)
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, username: 'sensor', password: 's3cret', reconnectPeriod: 0 })
    try {
      await client.publishAsync('old/greeting', 'hello', { qos: 1 })
      const [msg] = await got
      assert.deepEqual([msg?.topic, msg?.payload], ['old/greeting', 'hello'])
    } finally {
      await client.endAsync()
    }
    // MQTT 3.1.1, 3.2.2.3: return code 4 for a wrong password, 5 for no username when anonymous is off.
    assert.match(await refusal({ host: '127.0.0.1', port, username: 'sensor', password: 'wrong' }), /Bad username or password/)
    assert.match(await refusal({ host: '127.0.0.1', port }), /Not authorized/)
  })

  it('a TLS listener without a certificate is refused naming the row, and no port is bound', async () => {
    const port = await freePort()
    const tlsPort = await freePort()
    const flow = savedBeforeTheTab(port)
    Object.assign(flow[0] as FlowNode, { listeners: [{ protocol: 'mqtt', tls: true, port: String(tlsPort), host: '127.0.0.1' }], listenerTls: '' })
    await helper.load([roost], flow)
    assert.equal((helper.getNode('old-broker') as unknown as BrokerNode).transport, undefined)
    assert.ok(logged().includes('roost-broker.errors.no-tls-config'), logged().join('\n'))
    assert.equal(await portIsFree(port), true)
    assert.equal(await portIsFree(tlsPort), true)
  })

  it('a malformed users credential is refused with its own message', async () => {
    await helper.load([roost], savedBeforeTheTab(await freePort()), { 'old-broker': { users: '[{"username":"a","hash":"not a hash"}]' } })
    assert.equal((helper.getNode('old-broker') as unknown as BrokerNode).transport, undefined)
    assert.ok(logged().includes('roost-broker.errors.invalid-users'), logged().join('\n'))
  })
})

describe('roost-broker Security tab, deployed: hashed users, access rules and client ids', () => {
  const processes = new ProcessPool()
  before(startServer)
  after(stopServer)
  afterEach(async () => {
    await processes.killAll()
    await helper.unload()
  })

  /** The rules the Access rules table of the browser test saves, as the flow JSON holds them. */
  const ACL = [
    { kind: 'topic', username: 'panel', access: 'readwrite', filter: 'panel/#' },
    { kind: 'pattern', access: 'write', filter: 'devices/%c/state' },
    { kind: 'topic', access: 'read', filter: 'public/#' }
  ]

  async function deploy (extra: Record<string, unknown>): Promise<number> {
    const flow: FlowNode[] = [
      embeddedBroker('secure', { allowAnonymous: true, ...extra }),
      { id: 'everything', type: 'roost in', broker: 'secure', topic: '#', qos: '1', datatype: 'utf8', wires: [['sink']] },
      { id: 'sink', type: 'helper' },
      { id: 'news', type: 'roost out', broker: 'secure', topic: 'public/news', qos: '1', retain: 'true' }
    ]
    await helper.load([roost], flow, { secure: { users: JSON.stringify([{ username: 'panel', hash: await hashForDialog({ password: 'pa55-word' }) }]) } })
    return (await listeningBroker('secure')).port
  }

  it('a user stored as a $7$ hash logs in with mosquitto_pub; a wrong password is refused', async () => {
    const port = await deploy({})
    const got = collect(helper.getNode('sink'), 1)
    const right = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'panel', '-P', 'pa55-word', '-t', 'panel/hello', '-m', 'hi', '-q', '1'])
    assert.equal(right.code, 0, right.stderr)
    assert.deepEqual((await got).map((m) => [m.topic, m.payload]), [['panel/hello', 'hi']])
    const wrong = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'panel', '-P', 'pa55-worD', '-t', 'panel/hello', '-m', 'no', '-q', '1'])
    assert.notEqual(wrong.code, 0)
  })

  it('the access-rule table: users, anonymous clients and %c patterns get what their rows give, with mosquitto_pub and mosquitto_sub', async () => {
    const port = await deploy({ acl: ACL })
    const at = ['-h', '127.0.0.1', '-p', String(port)]
    const seen: Array<[string, string]> = []
    helper.getNode('sink').on('input', (msg: { topic: string, payload: string }) => { seen.push([msg.topic, msg.payload]) })
    // Anonymous: may read public/# (the retained news from roost out), may not write panel/#.
    helper.getNode('news').receive({ payload: 'roof repaired' })
    const news = await processes.run('mosquitto_sub', [...at, '-t', 'public/#', '-C', '1', '-W', '10', '-v'])
    assert.equal(news.stdout, 'public/news roof repaired\n')
    // MQTT 3.1.1 has no refusal code for a PUBLISH: it is acknowledged and dropped, as Mosquitto does.
    const anonymousWrite = await processes.run('mosquitto_pub', [...at, '-i', 'intruder', '-t', 'panel/hello', '-m', 'sneaky', '-q', '1'])
    assert.equal(anonymousWrite.code, 0, anonymousWrite.stderr)
    // A pattern with %c lets each client write its own state only.
    assert.equal((await processes.run('mosquitto_pub', [...at, '-i', 'dev1', '-t', 'devices/dev2/state', '-m', 'not mine', '-q', '1'])).code, 0)
    const got = collect(helper.getNode('sink'), 1)
    assert.equal((await processes.run('mosquitto_pub', [...at, '-i', 'dev1', '-t', 'devices/dev1/state', '-m', 'on', '-q', '1'])).code, 0)
    await got
    // Everything refused above came before this and would have arrived first.
    assert.deepEqual(seen.filter(([topic]) => topic !== 'public/news'), [['devices/dev1/state', 'on']])
    // A refused SUBSCRIBE: MQTT 5, 3.9.3 reason 0x87 Not authorized in SUBACK.
    const anonymous = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 0 })
    try {
      const granted = await new Promise<number[]>((resolve) => {
        anonymous.once('packetreceive', (packet) => { if (packet.cmd === 'suback') resolve((packet as unknown as { granted: number[] }).granted) })
        anonymous.subscribe({ 'panel/#': { qos: 1 }, 'public/#': { qos: 1 } }, () => {})
      })
      assert.deepEqual(granted, [0x87, 1])
    } finally {
      await anonymous.endAsync()
    }
  })

  it('a second MQTT listener with a mount point: its clients\' topics are under the prefix for everyone else', async () => {
    const mounted = await freePort()
    const port = await deploy({ listeners: [{ protocol: 'mqtt', tls: false, port: String(mounted), host: '127.0.0.1', mountPoint: 'site-a/' }] })
    const got = collect(helper.getNode('sink'), 1)
    const pub = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mounted), '-t', 'lights/hall', '-m', 'on', '-q', '1'])
    assert.equal(pub.code, 0, pub.stderr)
    assert.deepEqual((await got).map((m) => [m.topic, m.payload]), [['site-a/lights/hall', 'on']])
    assert.notEqual(port, mounted)
  })

  it('a WebSocket listener from the listeners table takes MQTT.js over ws://, with the same users and rules', async () => {
    const wsPort = await freePort()
    await deploy({ acl: ACL, listeners: [{ protocol: 'websockets', tls: false, port: String(wsPort), host: '127.0.0.1' }] })
    const got = collect(helper.getNode('sink'), 1)
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { username: 'panel', password: 'pa55-word', reconnectPeriod: 0 })
    try {
      await client.publishAsync('panel/over-ws', 'hello', { qos: 1 })
      assert.deepEqual((await got).map((m) => [m.topic, m.payload]), [['panel/over-ws', 'hello']])
    } finally {
      await client.endAsync()
    }
    assert.match(await refusal({ protocol: 'ws', host: '127.0.0.1', port: wsPort, path: '/mqtt', username: 'panel', password: 'wrong' }), /Bad username or password/)
  })

  it('client-id words from the dialog: only client ids with the prefix are accepted, an empty one is refused', async () => {
    const port = await deploy({ clientidPrefixes: 'plant-', allowZeroLengthClientid: false })
    const accepted = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'plant-7', reconnectPeriod: 0 })
    await accepted.endAsync()
    // A client id without the prefix gets return code 5 "not authorised", as from Mosquitto; an
    // empty one return code 2, identifier rejected (MQTT 3.1.1, 3.2.2.3).
    assert.match(await refusal({ host: '127.0.0.1', port, clientId: 'office-1' }), /Not authorized/)
    assert.match(await refusal({ host: '127.0.0.1', port, clientId: '', clean: true }), /Identifier rejected/)
  })
})
