// `roost sub` prints what mosquitto_sub prints, byte for byte: the same retained messages, read
// from Debian's mosquitto and from Roost by both tools, through -v, -N and many -F formats
// (payload, hex, widths and precisions, JSON, MQTT 5 properties, @-dates, escapes).
import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type Broker, createBroker } from '../../lib'
import { startMosquitto, tempDir, type Mosquitto } from '../client/helpers'
import { roostTool, runBytes, withoutTimestamps } from './tools-helpers'

// @-dates, %I and the JSON time are local time: both tools read it in UTC here.
process.env.TZ = 'UTC'

const JSON_PAYLOAD = '{"a": 1.50, "b":[1,2e3,"x\\u0001",true,null], "c":{}, "d":"é\\n", "e":-0.1e-7}'
const BINARY_PAYLOAD = Buffer.from([0x00, 0x01, 0xff, 0x0a, 0x22, 0x5c, 0x7f, 0x41])

/** Retained messages both brokers hold, published by mosquitto_pub. */
async function seed (port: number, dir: string): Promise<void> {
  const binary = path.join(dir, 'binary')
  writeFileSync(binary, BINARY_PAYLOAD)
  const p = ['-h', '127.0.0.1', '-p', String(port), '-r']
  const runs = [
    [...p, '-t', 'out/plain', '-m', 'hello world'],
    [...p, '-t', 'out/json', '-q', '1', '-m', JSON_PAYLOAD],
    [...p, '-t', 'out/binary', '-q', '2', '-f', binary],
    [...p, '-t', 'out/ütf8/topic', '-q', '1', '-m', 'süß'],
    [...p, '-t', 'out/v5', '-q', '1', '-V', 'mqttv5', '-D', 'publish', 'content-type', 'text/plain',
      '-D', 'publish', 'response-topic', 'reply/here', '-D', 'publish', 'correlation-data', 'cd-1',
      '-D', 'publish', 'user-property', 'k1', 'v1', '-D', 'publish', 'user-property', 'k2', 'v 2',
      '-D', 'publish', 'payload-format-indicator', '1', '-m', 'props']
  ]
  for (const args of runs) {
    const run = await runBytes('mosquitto_pub', args)
    assert.equal(run.code, 0, run.stderr)
  }
}

const FORMATS = [
  '%t %p',
  '%t|%x|%X',
  '%l|%q|%r|%m',
  '%10t|%-10t|%05l|%-5l|%.3t|%8.3t|%-8.3t|%3l',
  '%20x|%-20X|%3p|%-3p|%04p|%12p',
  '%-p|%-x|%-X',
  '%%|@@|\\t|\\\\|\\e|\\a\\v\\r\\0|@Y-@m-@d @z @Z|@j @e|plain text',
  '%j',
  '%J',
  '%C|%R|%D|%F|%P|%A|%E|%S'
]

const V5_FORMATS = [
  '%P|%C|%R|%D|%F|%S|%A',
  '%10C|%-10C|%5F|%05S|%-5S|%.3R|%8.5R|%6A|%06A|%3E',
  '%J'
]

function sameOutput (theirs: { code: number | null, stdout: Buffer, stderr: string }, ours: { code: number | null, stdout: Buffer, stderr: string }, what: string): void {
  assert.equal(ours.code, theirs.code, `${what}: exit code; stderr: ${ours.stderr}`)
  assert.equal(withoutTimestamps(ours.stdout), withoutTimestamps(theirs.stdout), `${what}: stdout`)
  assert.equal(ours.stderr, theirs.stderr, `${what}: stderr`)
}

for (const target of ['mosquitto', 'roost'] as const) {
  describe(`roost sub prints what mosquitto_sub prints, reading from ${target}`, () => {
    const temp = tempDir('tools-output')
    let mosquitto: Mosquitto | undefined
    let broker: Broker | undefined
    let port = 0

    before(async () => {
      if (target === 'mosquitto') {
        mosquitto = await startMosquitto(temp.dir)
        port = mosquitto.port
      } else {
        broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], sysIntervalSec: 0 })
        const [address] = await broker.listen()
        port = address?.port ?? 0
      }
      await seed(port, temp.dir)
    })

    after(async () => {
      await mosquitto?.stop()
      await broker?.close()
      temp.remove()
    })

    const both = async (args: string[]): Promise<void> => {
      // QoS 1: libmosquitto hands a QoS 2 message over only at PUBREL, later than the others, and
      // Roost's client at PUBLISH; with QoS 1 both print in the order the broker sent.
      const common = ['-h', '127.0.0.1', '-p', String(port), '-t', 'out/#', '-q', '1', '-C', '5', ...args]
      const theirs = await runBytes('mosquitto_sub', common, '', { TZ: 'UTC' })
      const ours = await roostTool('sub', common)
      assert.equal(theirs.code, 0, theirs.stderr)
      sameOutput(theirs, ours, args.join(' '))
    }

    it('prints payloads alone, and with -v the topic first; -N leaves out the newline', async () => {
      await both([])
      await both(['-v'])
      await both(['-v', '-N'])
      await both(['-N'])
    })

    for (const format of FORMATS) {
      it(`prints -F '${format}' as mosquitto_sub does (MQTT 3.1.1)`, async () => {
        await both(['-F', format])
      })
    }

    it('prints -N and --pretty JSON as mosquitto_sub does', async () => {
      await both(['-F', '%J', '--pretty'])
      await both(['-F', '%t=%p;', '-N'])
    })

    for (const format of V5_FORMATS) {
      it(`prints -F '${format}' as mosquitto_sub does (MQTT 5, with a subscription identifier)`, async () => {
        await both(['-V', 'mqttv5', '-D', 'subscribe', 'subscription-identifier', '42', '-F', format])
      })
    }

    it('gives %j the same fields as mosquitto_sub in MQTT 5, properties included', async () => {
      const common = ['-h', '127.0.0.1', '-p', String(port), '-t', 'out/v5', '-q', '1', '-C', '1', '-V', 'mqttv5', '-F', '%j']
      const theirs = await runBytes('mosquitto_sub', common, '', { TZ: 'UTC' })
      const ours = await roostTool('sub', common)
      assert.equal(ours.code, 0, ours.stderr)
      // The order of properties within "properties" follows the wire in mosquitto_sub; the values must agree.
      const parse = (output: Buffer): unknown => {
        const value = JSON.parse(output.toString('utf8')) as { tst?: string, properties: { 'message-expiry-interval'?: number } }
        delete value.tst
        return value
      }
      assert.deepEqual(parse(ours.stdout), parse(theirs.stdout))
    })
  })
}

describe('roost sub refuses the formats mosquitto_sub refuses', () => {
  for (const format of ['%', '%5', '%Z', '\\', '\\q', 'abc@', '%-', '%.']) {
    it(`refuses -F '${format}' with mosquitto_sub's message and exit code 1`, async () => {
      const theirs = await runBytes('mosquitto_sub', ['-t', 'x', '-F', format])
      const ours = await roostTool('sub', ['-t', 'x', '-F', format])
      assert.equal(ours.code, 1)
      assert.equal(theirs.code, 1)
      assert.equal(ours.stderr.split('\n')[0], theirs.stderr.split('\n')[0])
    })
  }
})
