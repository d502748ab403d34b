// Debian's mosquitto bridging to the broker, as a Mosquitto user sets a bridge up: `topic # both`,
// `try_private true` (the bridge marks its CONNECT with bit 7 of the protocol level) and
// `notifications true` (it reports its link state, retained, to $SYS/broker/connection/<id>/state).
// Messages go both ways, none comes back to the side it came from, retained flags cross the
// link, and the link's state is kept in the broker's $SYS tree, its will included.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ClientInfo } from '../../lib'
import { type Mosquitto, startMosquitto, tempDir } from '../client/helpers'
import { ProcessPool } from './processes'
import { ClientPool, type Inbox, type RunningBroker, startBroker, subscribed, summary } from './support'

const BRIDGE_ID = 'mosquitto-link'
const STATE_TOPIC = `$SYS/broker/connection/${BRIDGE_ID}/state`

describe('a Mosquitto bridge (try_private, notifications) connected to the broker', { timeout: 60_000 }, () => {
  const temp = tempDir('bridge')
  const processes = new ProcessPool()
  const clients = new ClientPool()
  let running: RunningBroker
  let mosquitto: Mosquitto
  let bridgeInfo: ClientInfo
  /** On the broker: every message under link/. */
  let roostSide: Inbox
  /** On mosquitto: every message under link/. */
  let mosquittoSide: Inbox

  before(async () => {
    running = await startBroker()
    const connected = new Promise<ClientInfo>((resolve) => {
      running.broker.on('clientConnected', (info) => { if (info.clientId === BRIDGE_ID) resolve(info) })
    })
    const bridgeSubscribed = subscribed(running.broker, BRIDGE_ID)
    mosquitto = await startMosquitto(temp.dir, [
      'connection roost',
      `address 127.0.0.1:${running.port}`,
      `remote_clientid ${BRIDGE_ID}`,
      'topic # both 1',
      'try_private true',
      'notifications true',
      'cleansession true'
    ])
    bridgeInfo = await connected
    await bridgeSubscribed
    const onRoost = await clients.connect(running.port, { clientId: 'roost-side' })
    roostSide = onRoost.inbox
    await onRoost.client.subscribeAsync('link/#', { qos: 1 })
    const onMosquitto = await clients.connect(mosquitto.port, { clientId: 'mosquitto-side' })
    mosquittoSide = onMosquitto.inbox
    await onMosquitto.client.subscribeAsync('link/#', { qos: 1 })
  })

  after(async () => {
    await processes.killAll()
    await clients.endAll()
    await mosquitto.stop()
    await running.broker.close()
    temp.remove()
  })

  test('is known as a bridge on MQTT 3.1.1', () => {
    assert.equal(bridgeInfo.bridge, true)
    assert.equal(bridgeInfo.protocolVersion, 4)
  })

  test('its state notification is kept, retained, in $SYS', async () => {
    const watcher = await clients.connect(running.port, { clientId: 'state-watcher' })
    await watcher.client.subscribeAsync('$SYS/broker/connection/+/state', { qos: 1 })
    const [state] = await watcher.inbox.waitFor(1)
    assert.deepEqual([state?.topic, state?.payload.toString(), state?.retain], [STATE_TOPIC, '1', true])
  })

  test('a message published on mosquitto reaches the broker once and is not echoed back', async () => {
    const published = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'link/from-mosquitto', '-m', 'hello', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(summary(await roostSide.waitForTopic('link/from-mosquitto')), [{ topic: 'link/from-mosquitto', payload: 'hello' }])
    // A marker sent the other way after the broker routed the message: an echo would have left
    // on the same link before it, so the marker arriving next proves none did.
    running.broker.publish({ topic: 'link/marker', payload: 'after', qos: 1 })
    assert.deepEqual(summary(await mosquittoSide.waitForTopic('link/marker')), [
      { topic: 'link/from-mosquitto', payload: 'hello' },
      { topic: 'link/marker', payload: 'after' }
    ])
  })

  test('a retained message published on the broker arrives at mosquitto once and stays retained there', async () => {
    const fromRoost = mosquittoSide.messages.length
    const toRoost = roostSide.messages.length
    const published = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(running.port), '-t', 'link/from-roost', '-m', 'kept', '-q', '1', '-r'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(summary(await mosquittoSide.waitForTopic('link/from-roost', fromRoost)), [{ topic: 'link/from-roost', payload: 'kept' }])
    // Retain As Published across the bridge: a later subscriber on mosquitto gets it retained.
    const later = await processes.run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'link/from-roost', '-C', '1', '-F', '%r|%p', '-W', '10'])
    assert.deepEqual(later, { code: 0, stdout: '1|kept\n', stderr: '' })
    // Nothing came back to the broker: mosquitto does not echo to a bridge either.
    await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'link/marker-2', '-m', 'after', '-q', '1'])
    assert.deepEqual(summary(await roostSide.waitForTopic('link/marker-2', toRoost)), [
      { topic: 'link/from-roost', payload: 'kept' },
      { topic: 'link/marker-2', payload: 'after' }
    ])
  })

  test('when the bridge dies, its will sets the state to 0, retained', async () => {
    const watcher = await clients.connect(running.port, { clientId: 'state-watcher-2' })
    await watcher.client.subscribeAsync('$SYS/broker/connection/+/state', { qos: 1 })
    await watcher.inbox.waitFor(1)
    await mosquitto.stop()
    const [, down] = await watcher.inbox.waitFor(2)
    assert.deepEqual([down?.topic, down?.payload.toString()], [STATE_TOPIC, '0'])
    const later = await clients.connect(running.port, { clientId: 'state-watcher-3' })
    await later.client.subscribeAsync(STATE_TOPIC, { qos: 1 })
    const [kept] = await later.inbox.waitFor(1)
    assert.deepEqual([kept?.payload.toString(), kept?.retain], ['0', true])
  })
})
