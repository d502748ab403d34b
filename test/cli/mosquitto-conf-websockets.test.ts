// mosquitto.conf words for WebSocket listeners: `protocol` applies to the listener above it (or
// the default listener), `websockets_headers_size` is honoured, `http_dir` is refused saying why.
import { strict as assert } from 'node:assert'
import { after, describe, it } from 'node:test'
import { ConfigError } from '../../lib/errors'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { makeTempDir } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
let fileCount = 0

function read (text: string): ReturnType<typeof readMosquittoConf> {
  return readMosquittoConf(temp.write(`ws-${++fileCount}.conf`, text))
}

function assertRefused (text: string, expected: string): void {
  const file = temp.write(`ws-${++fileCount}.conf`, text)
  assert.throws(() => readMosquittoConf(file), (error: unknown) => {
    assert.ok(error instanceof ConfigError)
    assert.equal(error.message, `${file}:${expected}`)
    return true
  })
}

describe('mosquitto.conf: protocol websockets', () => {
  it('sets the protocol of the listener above it, and only that one', () => {
    const conf = read('listener 1883\nlistener 9001 127.0.0.1\nprotocol websockets\nwebsockets_headers_size 4096\nlistener 1884\nprotocol mqtt\n')
    assert.deepEqual(conf.options.listeners, [
      { port: 1883 },
      { port: 9001, host: '127.0.0.1', protocol: 'websockets', websocketsHeadersSize: 4096 },
      { port: 1884, protocol: 'mqtt' }
    ])
  })

  it('sets the default listener\'s protocol when it follows port, as Mosquitto does', () => {
    assert.deepEqual(read('port 8080\nprotocol websockets\n').options.listeners, [{ port: 8080, protocol: 'websockets' }])
  })

  it('before any listener line, opens the default listener on 1883 with it, as the TLS words do', () => {
    const conf = read('protocol websockets\n')
    assert.deepEqual(conf.options.listeners, [{ port: 1883, protocol: 'websockets' }])
    assert.equal(conf.definesListener, true)
  })

  const refused: Array<[string, string, string]> = [
    ['an unknown protocol (schema)', 'listener 9001\nprotocol http\n', "2: 'protocol http': listeners.0.protocol must be equal to one of the allowed values"],
    ['websockets_headers_size past 16 bits (schema)', 'listener 9001\nprotocol websockets\nwebsockets_headers_size 70000\n', "3: 'websockets_headers_size 70000': listeners.0.websocketsHeadersSize must be <= 65535"],
    ['http_dir', 'listener 9001\nprotocol websockets\nhttp_dir /var/www\n', "3: 'http_dir' is not supported: Roost's WebSocket listeners serve MQTT only, not files over HTTP"]
  ]
  for (const [name, text, expected] of refused) {
    it(`stops on ${name}`, () => { assertRefused(text, expected) })
  }
})
