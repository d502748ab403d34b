// The presence roster and the device patterns behind the roost presence node.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, test } from 'node:test'
import mqtt from 'mqtt'
import { CompiledPattern, PRESENCE_PRESETS } from '../../lib/presence/patterns'
import { type PresenceEntry, PresenceRoster } from '../../lib/presence/roster'
import { startBroker } from '../helpers/broker'

function recorder (): { changes: Array<[string, string, string]>, roster: PresenceRoster } {
  const changes: Array<[string, string, string]> = []
  let clock = 1000
  const roster = new PresenceRoster((entry: PresenceEntry) => changes.push([entry.id, entry.state, entry.reason]), () => clock++)
  return { changes, roster }
}

describe('presence patterns', () => {
  test('Tasmota LWT: tele/<device>/LWT Online/Offline', () => {
    const pattern = new CompiledPattern(PRESENCE_PRESETS.tasmota as NonNullable<typeof PRESENCE_PRESETS.tasmota>)
    assert.equal(pattern.filter, 'tele/+/LWT')
    assert.equal(pattern.device('tele/plug-1/LWT'), 'plug-1')
    assert.equal(pattern.device('tele/plug-1/STATE'), undefined)
    assert.equal(pattern.device('tele/plug-1/LWT/x'), undefined)
    assert.equal(pattern.state(Buffer.from('Online')), true)
    assert.equal(pattern.state(' offline '), false)
    assert.equal(pattern.state('maybe'), undefined)
  })

  test('Homie $state, Home Assistant availability with JSON, ESPHome status', () => {
    const homie = new CompiledPattern(PRESENCE_PRESETS.homie as NonNullable<typeof PRESENCE_PRESETS.homie>)
    assert.equal(homie.filter, 'homie/+/$state')
    assert.deepEqual(['ready', 'init', 'lost', 'disconnected', 'sleeping'].map((s) => homie.state(s)), [true, true, false, false, false])
    const ha = new CompiledPattern(PRESENCE_PRESETS.homeassistant as NonNullable<typeof PRESENCE_PRESETS.homeassistant>)
    assert.equal(ha.filter, '+/+/availability')
    assert.equal(ha.device('zigbee2mqtt/kitchen_lamp/availability'), 'kitchen_lamp')
    assert.equal(ha.state('{"state":"online"}'), true)
    assert.equal(ha.state('{"state":"offline"}'), false)
    assert.equal(ha.state('{not json'), undefined)
    const esphome = new CompiledPattern(PRESENCE_PRESETS.esphome as NonNullable<typeof PRESENCE_PRESETS.esphome>)
    assert.equal(esphome.device('garage-door/status'), 'garage-door')
  })

  test('a custom pattern with # after the device level', () => {
    const pattern = new CompiledPattern({ topic: 'site/{device}/#', online: ['up'], offline: ['down'] })
    assert.equal(pattern.filter, 'site/+/#')
    assert.equal(pattern.device('site/pump/state/now'), 'pump')
    assert.equal(pattern.device('other/pump/state'), undefined)
  })

  test('a pattern needs exactly one {device} level, and no # before it', () => {
    assert.throws(() => new CompiledPattern({ topic: 'a/b', online: [], offline: [] }), /exactly one \{device\}/)
    assert.throws(() => new CompiledPattern({ topic: '{device}/{device}', online: [], offline: [] }), /exactly one \{device\}/)
    assert.throws(() => new CompiledPattern({ topic: '#/{device}', online: [], offline: [] }), /'#' before \{device\}/)
  })
})

describe('presence roster', () => {
  test('reports each change once, with its reason and time', () => {
    const { changes, roster } = recorder()
    roster.clientConnected('a')
    roster.clientConnected('a')
    roster.clientDisconnected('a', 'keepaliveTimeout', true)
    roster.clientConnected('b')
    roster.clientDisconnected('b', 'disconnect', false)
    roster.deviceState('plug', true)
    roster.deviceState('plug', true)
    roster.deviceState('plug', false)
    assert.deepEqual(changes, [
      ['a', 'online', 'connected'], ['a', 'offline', 'will'], ['b', 'online', 'connected'], ['b', 'offline', 'disconnected'],
      ['plug', 'online', 'birth'], ['plug', 'offline', 'last will']
    ])
    assert.deepEqual(roster.list().map((e) => [e.id, e.state, e.since]), [['a', 'offline', 1001], ['b', 'offline', 1003], ['plug', 'offline', 1005]])
    assert.equal(roster.onlineCount, 0)
  })

  test('disconnect reasons: keepalive, takeover, socket loss, shutdown', () => {
    const { changes, roster } = recorder()
    for (const [id, reason] of [['k', 'keepaliveTimeout'], ['t', 'takenOver'], ['s', 'socketClosed'], ['x', 'serverShutdown']] as const) {
      roster.clientConnected(id)
      roster.clientDisconnected(id, reason, false)
    }
    assert.deepEqual(changes.filter(([, state]) => state === 'offline').map(([, , reason]) => reason), ['keepalive timeout', 'taken over', 'connection lost', 'broker closed'])
  })

  test('brokerClosed takes every connected client offline, not devices', () => {
    const { changes, roster } = recorder()
    roster.clientConnected('c')
    roster.deviceState('d', true)
    roster.brokerClosed()
    assert.deepEqual(changes.at(-1), ['c', 'offline', 'broker closed'])
    assert.equal(roster.onlineCount, 1)
  })
})

describe('presence from a running broker', () => {
  test("connect events, and a Tasmota-style LWT published when a client is killed without DISCONNECT", async (t) => {
    const h = await startBroker(t)
    const { changes, roster } = recorder()
    h.broker.on('clientConnected', ({ clientId }) => roster.clientConnected(clientId))
    h.broker.on('clientDisconnected', ({ clientId, reason, willPublished }) => roster.clientDisconnected(clientId, reason, willPublished))
    const tasmota = new CompiledPattern(PRESENCE_PRESETS.tasmota as NonNullable<typeof PRESENCE_PRESETS.tasmota>)
    h.broker.subscribe(tasmota.filter, 1, (message) => {
      const device = tasmota.device(message.topic)
      const state = tasmota.state(message.payload)
      if (device !== undefined && state !== undefined) roster.deviceState(device, state)
    })
    // A device the way Tasmota connects: retained "Online" birth, "Offline" as its Last Will.
    const device = mqtt.connect(`mqtt://127.0.0.1:${h.port}`, {
      clientId: 'tasmota_A1B2C3', reconnectPeriod: 0, will: { topic: 'tele/plug-7/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true }
    })
    await new Promise<void>((resolve) => device.once('connect', () => resolve()))
    await device.publishAsync('tele/plug-7/LWT', 'Online', { qos: 1, retain: true })
    // Killed: the socket goes without DISCONNECT, so the broker publishes the will.
    device.stream.destroy()
    const deadline = Date.now() + 5000
    while (changes.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    device.end(true)
    assert.deepEqual(changes, [
      ['tasmota_A1B2C3', 'online', 'connected'],
      ['plug-7', 'online', 'birth'],
      ['plug-7', 'offline', 'last will'],
      ['tasmota_A1B2C3', 'offline', 'will']
    ])
    // The retained LWT tells a late subscriber the device is offline.
    const { stdout } = await new Promise<{ stdout: string }>((resolve) => {
      const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(h.port), '-t', 'tele/+/LWT', '-v', '-C', '1', '-W', '3'])
      let out = ''
      sub.stdout.on('data', (chunk) => { out += String(chunk) })
      sub.on('close', () => resolve({ stdout: out }))
    })
    assert.equal(stdout.trim(), 'tele/plug-7/LWT Offline')
  })
})
