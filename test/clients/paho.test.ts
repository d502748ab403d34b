// Python paho-mqtt from Debian's python3-paho-mqtt against the broker: written to the 1.6 API,
// which paho 2.x also runs when asked for 1.x callbacks. The client code is in paho/client.py;
// it prints one JSON object per scenario, checked here field by field.
// Always /usr/bin/python3: the python3 first on PATH may be another installation without paho.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import { ProcessPool } from './processes'
import { type RunningBroker, startBroker } from './support'

const PYTHON = '/usr/bin/python3'
const SCRIPT = path.join(__dirname, 'paho', 'client.py')

interface PahoMessage { topic: string, payload_hex: string, qos: number, retain: boolean }

const hex = (text: string): string => Buffer.from(text).toString('hex')
const EVERY_BYTE_HEX = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex')

describe('Python paho-mqtt client', { timeout: 60_000 }, () => {
  let running: RunningBroker
  const processes = new ProcessPool()
  const connectedVersions = new Map<string, number>()

  /** Runs one scenario of client.py and returns its JSON output. */
  async function scenario (name: string, protocol = 'mqttv311'): Promise<Record<string, unknown>> {
    // paho 2.x warns that the 1.x callback API is deprecated: not a failure of the broker.
    const finished = await processes.run(PYTHON, ['-W', 'ignore::DeprecationWarning', SCRIPT, name, String(running.port), protocol])
    assert.equal(finished.stderr, '')
    assert.equal(finished.code, 0, finished.stdout)
    const result = JSON.parse(finished.stdout) as Record<string, unknown>
    // Written to the 1.6 API that Debian bookworm ships; client.py also runs on paho 2.x.
    assert.match(String(result.paho_version), /^(1\.6|2)\./)
    return result
  }

  before(async () => {
    running = await startBroker()
    running.broker.on('clientConnected', (info) => { connectedVersions.set(info.clientId, info.protocolVersion) })
  })
  afterEach(async () => { await processes.killAll() })
  after(async () => { await running.broker.close() })

  for (const [protocol, level] of [['mqttv311', 4], ['mqttv31', 3]] as const) {
    test(`${protocol}: QoS 0, 1 and 2 publish and subscribe round trip`, async () => {
      const result = await scenario('roundtrip', protocol)
      assert.deepEqual(result.connack, { rc: 0, session_present: 0 })
      assert.deepEqual(result.granted, [2])
      // paho's rc 0: every publish was accepted and (QoS 1, 2) acknowledged
      assert.deepEqual(result.publish_rc, [0, 0, 0])
      assert.deepEqual(result.messages as PahoMessage[], [
        { topic: 'paho/rt/0', payload_hex: hex('qos 0'), qos: 0, retain: false },
        { topic: 'paho/rt/1', payload_hex: EVERY_BYTE_HEX, qos: 1, retain: false },
        { topic: 'paho/rt/2', payload_hex: hex('qos 2'), qos: 2, retain: false }
      ])
      assert.equal(connectedVersions.get('paho-rt-sub'), level)
      assert.equal(connectedVersions.get('paho-rt-pub'), level)
    })
  }

  test('retained: sent on subscribe with retain set [MQTT-3.3.1-6], forwarded live without it [MQTT-3.3.1-9]', async () => {
    const result = await scenario('retained')
    assert.deepEqual(result.live as PahoMessage[], [
      { topic: 'paho/ret/a', payload_hex: hex('kept'), qos: 1, retain: true },
      { topic: 'paho/ret/b', payload_hex: hex('also kept'), qos: 1, retain: false }
    ])
    assert.deepEqual(result.late as PahoMessage[], [
      { topic: 'paho/ret/a', payload_hex: hex('kept'), qos: 1, retain: true },
      { topic: 'paho/ret/b', payload_hex: hex('also kept'), qos: 1, retain: true }
    ])
    assert.equal(running.broker.retainedCount, 2)
  })

  test('will: published when the client closes its socket without DISCONNECT [MQTT-3.1.2-8]', async () => {
    const disconnects: Array<{ clientId: string, reason: string, willPublished: boolean }> = []
    let bothGone: () => void = () => {}
    const gone = new Promise<void>((resolve) => { bothGone = resolve })
    const record = (event: { clientId: string, reason: string, willPublished: boolean }): void => {
      if (!event.clientId.startsWith('paho-will-')) return
      disconnects.push({ clientId: event.clientId, reason: event.reason, willPublished: event.willPublished })
      if (disconnects.length === 2) bothGone()
    }
    running.broker.on('clientDisconnected', record)
    try {
      const result = await scenario('will')
      assert.deepEqual(result.connack, { rc: 0, session_present: 0 })
      assert.deepEqual(result.messages as PahoMessage[], [
        { topic: 'paho/will/doomed', payload_hex: hex('gone without a word'), qos: 1, retain: false }
      ])
      // The script may exit before the broker has read the watcher's DISCONNECT.
      await gone
      // The watcher left with DISCONNECT, the doomed client without: only it has a will published.
      assert.deepEqual(disconnects.sort((a, b) => a.clientId.localeCompare(b.clientId)), [
        { clientId: 'paho-will-doomed', reason: 'socketClosed', willPublished: true },
        { clientId: 'paho-will-watch', reason: 'disconnect', willPublished: false }
      ])
    } finally {
      running.broker.off('clientDisconnected', record)
    }
  })
})
