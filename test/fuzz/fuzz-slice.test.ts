// A short slice of `npm run fuzz`: a few thousand mutated MQTT 3.1, 3.1.1 and 5 packets of every
// type, fed to the parser in-process and to a live broker over TCP and WebSockets. Nothing may
// throw past a ProtocolError, the broker must report no internal error, close every connection, and still
// complete an MQTT.js QoS 1 round trip after every batch. Also: the fuzzer's valid packets are
// valid (mqtt-packet reads each as what it is), a seed replays its batch byte for byte, and with a
// disk store the store the fuzzed sessions leave opens again without damage.
import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { makeCase } from '../../bench/fuzz/cases'
import { describeFinding } from '../../bench/fuzz/findings'
import { DEFAULTS } from '../../bench/fuzz/options'
import { assemble, connectPacket, laterPacket, type Version } from '../../bench/fuzz/packets'
import { Random } from '../../bench/fuzz/random'
import { runFuzz } from '../../bench/fuzz/run'
import { DiskStore } from '../../lib/store/disk'
import { makeTempDir } from '../cli/helpers'
import { RecordingLogger } from '../helpers/broker'

/** mqtt-packet's name for what the fuzzer calls `publish-qos1` and the like. */
function command (name: string): string {
  return name.startsWith('publish') ? 'publish' : name
}

function parsedBy (bytes: Buffer, protocolVersion: Version): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion })
  const packets: mqttPacket.Packet[] = []
  const errors: Error[] = []
  parser.on('packet', (packet: mqttPacket.Packet) => packets.push(packet))
  parser.on('error', (error: Error) => errors.push(error))
  parser.parse(bytes)
  assert.deepEqual(errors, [], `mqtt-packet refused ${bytes.toString('hex')}`)
  return packets
}

describe('mutation fuzzer', () => {
  test('its valid packets of every type and version are read by mqtt-packet as what they are', () => {
    const random = new Random(11)
    const seen = new Set<string>()
    for (let i = 0; i < 600; i++) {
      const version = random.pick<Version>([3, 4, 5])
      const packet = i % 5 === 0 ? connectPacket(random, version) : laterPacket(random, version)
      // AUTH exists only in MQTT 5: before it, type 15 is reserved and refusing it is right.
      if (packet.name === 'auth' && version !== 5) continue
      const [parsed] = parsedBy(assemble(packet), version)
      assert.equal(parsed?.cmd, command(packet.name))
      seen.add(`${packet.name} v${version}`)
    }
    // Every type a client or a server sends, in each version.
    for (const version of [3, 4, 5]) {
      for (const name of ['connect', 'publish-qos0', 'publish-qos1', 'publish-qos2', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe',
        'unsubscribe', 'pingreq', 'disconnect', 'connack', 'suback', 'unsuback', 'pingresp']) {
        assert.ok(seen.has(`${name} v${version}`), `${name} v${version} was never generated`)
      }
    }
    assert.ok(seen.has('auth v5'))
  })

  test('a seed replays its cases byte for byte', () => {
    const first = new Random(424242)
    const again = new Random(424242)
    for (let i = 0; i < 50; i++) {
      assert.deepEqual(Buffer.concat(makeCase(again, i).chunks), Buffer.concat(makeCase(first, i).chunks))
    }
  })

  test('a few thousand mutated packets: nothing throws, the broker closes every connection and still serves MQTT.js', { timeout: 240_000 }, async () => {
    const lines: string[] = []
    const summary = await runFuzz({ ...DEFAULTS, count: 3000, minutes: 3, seed: 20261203, batchCases: 100, concurrency: 16, progressSec: 3600 }, (line) => lines.push(line))
    // Slow parses and heap growth are timings and trends of a shared machine, not asserted here.
    const found = summary.findings.filter(({ finding }) => finding.kind !== 'slow-parse' && finding.kind !== 'memory-growth')
    assert.deepEqual(found.map(({ finding, count }) => describeFinding(finding, count)), [])
    assert.ok(summary.mutatedPackets >= 3000, `only ${summary.mutatedPackets} mutated packets`)
    // The count stopped the run, not the clock: every batch ended with a round trip.
    assert.ok(summary.mutatedPackets < 3000 + 100 * 10)
    assert.equal(summary.cases, summary.broker?.cases)
    // The mutations reached both answers: refusals that close the connection, and packets accepted.
    assert.ok((summary.broker?.closedByBroker ?? 0) > 0 && (summary.broker?.endedByUs ?? 0) > 0, JSON.stringify(summary.broker))
    assert.ok(summary.parser.refused > 0 && summary.parser.decoded > 0, JSON.stringify(summary.parser))
  })

  test('with a disk store: what fuzz sessions leave is journaled, and the store opens again without damage', { timeout: 240_000 }, async () => {
    const temp = makeTempDir()
    try {
      const directory = path.join(temp.dir, 'store')
      const summary = await runFuzz({ ...DEFAULTS, count: 1500, minutes: 3, seed: 20261204, batchCases: 100, concurrency: 16, progressSec: 3600, persistence: directory }, () => {})
      const found = summary.findings.filter(({ finding }) => finding.kind !== 'slow-parse' && finding.kind !== 'memory-growth')
      assert.deepEqual(found.map(({ finding, count }) => describeFinding(finding, count)), [])
      const log = new RecordingLogger()
      const store = new DiskStore({ directory, logger: log })
      const state = await store.open()
      try {
        // Accepted packets reached the store: retained messages and sessions that outlive their connection.
        assert.ok(store.retained.size + state.sessions.length > 0, `nothing stored: ${log.lines.join(' | ')}`)
        assert.deepEqual(log.lines.filter((line) => /damaged|could not be read|incomplete record|lost to damage/.test(line)), [])
      } finally {
        await store.close()
      }
    } finally {
      temp.remove()
    }
  })
})
