// The command line and how it combines with the config file: listeners (Mosquitto 2's local-only
// mode), anonymous access, logging and the log line format.
import { strict as assert } from 'node:assert'
import { after, describe, it } from 'node:test'
import { parseCommandLine, UsageError } from '../../lib/config/command-line'
import { createSettingsLogger, defaultLogSettings } from '../../lib/config/logging'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { resolveSettings } from '../../lib/config/settings'
import { DEFAULTS, resolveOptions } from '../../lib/options'
import { embeddedOptions } from '../../nodes/broker/settings'
import { makeTempDir } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())

describe('roost command line', () => {
  it('reads every flag, long and short; -p may be repeated as in Mosquitto', () => {
    assert.deepEqual(parseCommandLine(['-p', '1883', '--port', '1884', '-h', '0.0.0.0', '-c', 'roost.conf', '-v']), {
      ports: [1883, 1884], host: '0.0.0.0', configFile: 'roost.conf', verbose: true, help: false, version: false
    })
    assert.deepEqual(parseCommandLine(['--host', '::1', '--config-file', 'a.conf', '--verbose', '--help', '--version']), {
      ports: [], host: '::1', configFile: 'a.conf', verbose: true, help: true, version: true
    })
    assert.deepEqual(parseCommandLine([]), { ports: [], verbose: false, help: false, version: false })
  })

  it('refuses bad command lines with a UsageError', () => {
    const cases: Array<[string[], string]> = [
      [['-p'], '-p needs a value'],
      [['-p', 'http'], "invalid port 'http': expected 0 to 65535"],
      [['-p', '65536'], "invalid port '65536': expected 0 to 65535"],
      [['-p', '-1'], "invalid port '-1': expected 0 to 65535"],
      [['-h', 'a', '-h', 'b'], '-h may be given once'],
      [['-c', 'a', '--config-file', 'b'], '--config-file may be given once'],
      [['-d'], "unknown option '-d'"],
      [['extra'], "unknown option 'extra'"]
    ]
    for (const [argv, message] of cases) {
      assert.throws(() => parseCommandLine(argv), (error: unknown) => error instanceof UsageError && error.message === message, argv.join(' '))
    }
  })
})

describe('roost settings', () => {
  const base = { ports: [], verbose: false, help: false, version: false }

  it('Mosquitto 2 local-only mode: no config and no flags listen on 127.0.0.1:1883 and allow anonymous', () => {
    const settings = resolveSettings(base)
    assert.deepEqual(settings.options, { listeners: [{ port: 1883, host: '127.0.0.1' }], allowAnonymous: true })
    assert.equal(settings.localOnly, true)
  })

  it('-p without -h stays on 127.0.0.1, one listener per port', () => {
    const settings = resolveSettings({ ...base, ports: [1884, 1885] })
    assert.deepEqual(settings.options.listeners, [{ port: 1884, host: '127.0.0.1' }, { port: 1885, host: '127.0.0.1' }])
    assert.equal(settings.localOnly, true)
  })

  it('-h binds the command-line listener there, on 1883 unless -p says otherwise', () => {
    assert.deepEqual(resolveSettings({ ...base, host: '0.0.0.0' }).options.listeners, [{ port: 1883, host: '0.0.0.0' }])
    const settings = resolveSettings({ ...base, host: '0.0.0.0', ports: [1999] })
    assert.deepEqual(settings.options.listeners, [{ port: 1999, host: '0.0.0.0' }])
    assert.equal(settings.localOnly, false)
    assert.equal(settings.options.allowAnonymous, true)
  })

  it('the file\'s listeners are used as written, and refuse anonymous clients unless allowed', () => {
    const conf = temp.write('listeners.conf', 'listener 1900\nlistener 1901 127.0.0.1\n')
    const settings = resolveSettings({ ...base, configFile: conf })
    assert.deepEqual(settings.options.listeners, [{ port: 1900 }, { port: 1901, host: '127.0.0.1' }])
    assert.equal(settings.options.allowAnonymous, false)
    assert.equal(settings.localOnly, false)
    assert.equal(settings.configFile, conf)
  })

  it('-p replaces the file\'s listeners and, like them, binds all addresses', () => {
    const conf = temp.write('replaced.conf', 'listener 1900\n')
    assert.deepEqual(resolveSettings({ ...base, configFile: conf, ports: [1950] }).options.listeners, [{ port: 1950 }])
  })

  it('a file without listeners keeps local-only mode', () => {
    const conf = temp.write('limits.conf', 'max_connections 7\n')
    const settings = resolveSettings({ ...base, configFile: conf })
    assert.deepEqual(settings.options, { maxConnections: 7, allowAnonymous: true, listeners: [{ port: 1883, host: '127.0.0.1' }] })
    assert.equal(settings.localOnly, true)
  })

  it('logs error, warning, notice and information to stderr by default; the file replaces them; -v logs everything', () => {
    assert.deepEqual(resolveSettings(base).log, defaultLogSettings())
    assert.deepEqual([...defaultLogSettings().types].sort(), ['error', 'info', 'notice', 'warning'])
    const conf = temp.write('log.conf', 'log_type error\nlog_dest stdout\n')
    const fromFile = resolveSettings({ ...base, configFile: conf }).log
    assert.deepEqual([...fromFile.types], ['error'])
    assert.deepEqual([...fromFile.destinations], ['stdout'])
    const verbose = resolveSettings({ ...base, configFile: conf, verbose: true }).log
    assert.deepEqual([...verbose.types].sort(), ['debug', 'error', 'info', 'notice', 'warning'])
    assert.deepEqual([...verbose.destinations], ['stdout'])
  })

  it('log_dest file, log_timestamp and log_timestamp_format from the file reach the log settings', () => {
    const conf = temp.write('log-file.conf', 'log_dest file /tmp/roost.log\nlog_timestamp false\nlog_timestamp_format %F %T\n')
    const log = resolveSettings({ ...base, configFile: conf }).log
    assert.deepEqual(log.destinations, new Set())
    assert.deepEqual(log.files, [{ path: '/tmp/roost.log', source: `${conf}:1` }])
    assert.equal(log.timestamp, false)
    assert.equal(log.timestampFormat, '%F %T')
  })

  it('writes "<unix time>: <line>" for the chosen types to every chosen destination', () => {
    const written: Array<[string, string]> = []
    const logger = createSettingsLogger({ types: new Set(['notice', 'error']), destinations: new Set(['stdout', 'stderr']), files: [], timestamp: true }, {
      stdout: (line) => written.push(['stdout', line]),
      stderr: (line) => written.push(['stderr', line])
    })
    const before = Math.floor(Date.now() / 1000)
    logger.debug('not this')
    logger.info('nor this')
    logger.warning('nor this either')
    logger.notice('New client connected.')
    logger.error('Something broke.')
    const afterwards = Math.floor(Date.now() / 1000)
    assert.deepEqual(written.map(([stream, line]) => [stream, line.replace(/^\d+: /, '')]), [
      ['stdout', 'New client connected.\n'], ['stderr', 'New client connected.\n'],
      ['stdout', 'Something broke.\n'], ['stderr', 'Something broke.\n']
    ])
    for (const [, line] of written) {
      const stamp = Number(/^(\d+): /.exec(line)?.[1])
      assert.ok(stamp >= before && stamp <= afterwards, line)
    }
  })
})

describe('config words and the roost-broker node give the same options', () => {
  it('max_inflight_bytes and upgrade_outgoing_qos read as the Limits tab saves them', () => {
    const conf = temp.write('delivery.conf', 'max_inflight_bytes 65536\nupgrade_outgoing_qos true\n')
    const fromFile = readMosquittoConf(conf).options
    // The dialog saves text fields as strings and checkboxes as booleans.
    const fromNode = embeddedOptions({ maxInflightBytes: '65536', upgradeOutgoingQos: true }, {})
    assert.deepEqual(
      { maxInflightBytes: fromNode.maxInflightBytes, upgradeOutgoingQos: fromNode.upgradeOutgoingQos },
      { maxInflightBytes: fromFile.maxInflightBytes, upgradeOutgoingQos: fromFile.upgradeOutgoingQos }
    )
    const off = embeddedOptions({ maxInflightBytes: 0, upgradeOutgoingQos: 'false' }, {})
    const offFile = readMosquittoConf(temp.write('delivery-off.conf', 'max_inflight_bytes 0\nupgrade_outgoing_qos false\n')).options
    assert.deepEqual([off.maxInflightBytes, off.upgradeOutgoingQos], [offFile.maxInflightBytes, offFile.upgradeOutgoingQos])
  })

  it('a node saved before the fields existed, and a file without the words, both get the defaults', () => {
    const fromNode = resolveOptions(embeddedOptions({}, {}))
    const fromFile = resolveOptions(readMosquittoConf(temp.write('no-delivery.conf', 'max_connections 5\n')).options)
    for (const options of [fromNode, fromFile]) {
      assert.equal(options.maxInflightBytes, DEFAULTS.maxInflightBytes)
      assert.equal(options.upgradeOutgoingQos, DEFAULTS.upgradeOutgoingQos)
    }
    assert.deepEqual([DEFAULTS.maxInflightBytes, DEFAULTS.upgradeOutgoingQos], [0, false])
  })
})
