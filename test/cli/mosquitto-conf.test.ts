// mosquitto.conf reading: every supported word, Mosquitto 2's listener and anonymous rules,
// include_dir order, and an error naming file:line for every bad or unsupported line.
import { strict as assert } from 'node:assert'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { ConfigError } from '../../lib/errors'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { makeTempDir } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
let fileCount = 0

function confFile (text: string): string {
  return temp.write(`case-${++fileCount}.conf`, text)
}

function assertConfigError (text: string, expected: (file: string) => string): void {
  const file = confFile(text)
  assert.throws(() => readMosquittoConf(file), (error: unknown) => {
    assert.ok(error instanceof ConfigError)
    assert.equal(error.message, expected(file))
    return true
  })
}

describe('mosquitto.conf words', () => {
  it('reads every supported broker word into BrokerOptions', () => {
    const file = confFile([
      '# a comment, then a blank line',
      '',
      '   # an indented comment',
      'listener 1884 127.0.0.1',
      'allow_anonymous true',
      'max_connections 100',
      'max_inflight_messages 10',
      'max_inflight_bytes 65536',
      'max_queued_messages 500',
      'max_queued_bytes 65536',
      'queue_qos0_messages true',
      'upgrade_outgoing_qos true',
      'message_size_limit 1024',
      'max_keepalive 120',
      'retain_available false',
      'max_packet_size 2048',
      'max_topic_alias 5',
      'max_qos 1',
      'persistent_client_expiration 2h',
      'sys_interval\t30',
      'persistence true',
      'persistence_location /var/lib/roost data/',
      'persistence_file roost.db',
      'persistence_sync batch',
      'autosave_interval 300',
      'autosave_on_changes true',
      'connect_timeout 5',
      'incomplete_packet_timeout 30',
      'pid_file /tmp/roost test.pid',
      ''
    ].join('\n'))
    const conf = readMosquittoConf(file)
    assert.deepEqual(conf.options, {
      listeners: [{ port: 1884, host: '127.0.0.1', maxConnections: 100 }],
      allowAnonymous: true,
      maxInflightMessages: 10,
      maxInflightBytes: 65536,
      maxQueuedMessages: 500,
      maxQueuedBytes: 65536,
      queueQos0Messages: true,
      upgradeOutgoingQos: true,
      messageSizeLimit: 1024,
      maxKeepalive: 120,
      retainAvailable: false,
      maxPacketSize: 2048,
      maxTopicAlias: 5,
      maxQos: 1,
      persistentClientExpirationSec: 7200,
      sysIntervalSec: 30,
      persistence: true,
      persistenceLocation: '/var/lib/roost data/',
      persistenceFile: 'roost.db',
      persistenceSync: 'batch',
      autosaveIntervalSec: 300,
      autosaveOnChanges: true,
      connectTimeoutSec: 5,
      incompletePacketTimeoutSec: 30
    })
    assert.equal(conf.pidFile, '/tmp/roost test.pid')
    assert.equal(conf.definesListener, true)
    assert.deepEqual(conf.files, [file])
  })

  it('max_packet_size: up to the protocol\'s largest packet, and 0 for that limit', () => {
    assert.equal(readMosquittoConf(confFile('max_packet_size 268435460\n')).options.maxPacketSize, 268_435_460)
    assert.equal(readMosquittoConf(confFile('max_packet_size 0\n')).options.maxPacketSize, 0)
  })

  it('incomplete_packet_timeout 0 waits forever', () => {
    assert.equal(readMosquittoConf(confFile('incomplete_packet_timeout 0\n')).options.incompletePacketTimeoutSec, 0)
  })

  it('reads maximum_qos as max_qos, as Mosquitto does', () => {
    assert.deepEqual(readMosquittoConf(confFile('maximum_qos 1\n')).options, { maxQos: 1, allowAnonymous: true })
    assert.deepEqual(readMosquittoConf(confFile('maximum_qos 0\n')).options, readMosquittoConf(confFile('max_qos 0\n')).options)
  })

  it('reads persistence and its old name retained_persistence; the last line wins', () => {
    assert.deepEqual(readMosquittoConf(confFile('persistence false\nretained_persistence 0\n')).options, { allowAnonymous: true, persistence: false })
    assert.deepEqual(readMosquittoConf(confFile('retained_persistence true\n')).options, { allowAnonymous: true, persistence: true })
  })

  it('reads Windows line endings', () => {
    const conf = readMosquittoConf(confFile('listener 1885\r\nallow_anonymous false\r\n'))
    assert.deepEqual(conf.options, { listeners: [{ port: 1885 }], allowAnonymous: false })
  })

  it('takes 1 and 0 as booleans, as Mosquitto does', () => {
    const conf = readMosquittoConf(confFile('retain_available 0\nqueue_qos0_messages 1\n'))
    assert.equal(conf.options.retainAvailable, false)
    assert.equal(conf.options.queueQos0Messages, true)
  })

  it('port and bind_address define the default listener, listed before the listener lines', () => {
    const conf = readMosquittoConf(confFile('listener 1886\nport 1887\nbind_address 127.0.0.1\nlistener 1888 ::1\n'))
    assert.deepEqual(conf.options.listeners, [{ port: 1887, host: '127.0.0.1' }, { port: 1886 }, { port: 1888, host: '::1' }])
  })

  it('bind_address alone listens on 1883 at that address', () => {
    const conf = readMosquittoConf(confFile('bind_address 127.0.0.1\n'))
    assert.deepEqual(conf.options.listeners, [{ port: 1883, host: '127.0.0.1' }])
  })

  it('Mosquitto 2: a file with a listener and no allow_anonymous refuses anonymous clients', () => {
    assert.equal(readMosquittoConf(confFile('listener 1883\n')).options.allowAnonymous, false)
    assert.equal(readMosquittoConf(confFile('port 1883\n')).options.allowAnonymous, false)
    assert.equal(readMosquittoConf(confFile('listener 1883\nallow_anonymous true\n')).options.allowAnonymous, true)
  })

  it('Mosquitto 2: a file without a listener leaves the listeners to the command (local only) and allows anonymous', () => {
    const conf = readMosquittoConf(confFile('max_connections 5\n'))
    assert.deepEqual(conf.options, { maxConnections: 5, allowAnonymous: true })
    assert.equal(conf.definesListener, false)
  })

  it('reads persistent_client_expiration durations in Mosquitto units', () => {
    const cases: Array<[string, number]> = [['30s', 30], ['2h', 7200], ['1d', 86_400], ['2w', 1_209_600], ['1m', 2_592_000], ['1y', 31_536_000]]
    for (const [text, seconds] of cases) {
      assert.equal(readMosquittoConf(confFile(`persistent_client_expiration ${text}\n`)).options.persistentClientExpirationSec, seconds, text)
    }
  })

  it('reads log_type and log_dest lines into sets that replace the defaults', () => {
    const conf = readMosquittoConf(confFile('log_type error\nlog_type information\nlog_dest stdout\nlog_dest stderr\n'))
    assert.deepEqual([...(conf.logTypes ?? [])], ['error', 'info'])
    assert.deepEqual([...(conf.logDestinations ?? [])], ['stdout', 'stderr'])
    const all = readMosquittoConf(confFile('log_type all\n'))
    assert.deepEqual([...(all.logTypes ?? [])].sort(), ['debug', 'error', 'info', 'notice', 'warning'])
    const none = readMosquittoConf(confFile('log_type all\nlog_type none\nlog_dest none\n'))
    assert.equal(none.logTypes?.size, 0)
    assert.equal(none.logDestinations?.size, 0)
    assert.equal(readMosquittoConf(confFile('max_keepalive 60\n')).logTypes, undefined)
  })

  it('reads log_dest file paths (spaces included) beside the console streams; log_dest none drops them all', () => {
    const conf = readMosquittoConf(confFile('log_dest stderr\nlog_dest file /var/log/roost/broker log.txt\nlog_dest file /tmp/second.log\nlog_dest file /tmp/second.log\n'))
    assert.deepEqual([...(conf.logDestinations ?? [])], ['stderr'])
    assert.deepEqual(conf.logFiles?.map((file) => file.path), ['/var/log/roost/broker log.txt', '/tmp/second.log'])
    assert.match(conf.logFiles?.[0]?.source ?? '', /:2$/)
    const onlyFile = readMosquittoConf(confFile('log_dest file /tmp/only.log\n'))
    assert.deepEqual([...(onlyFile.logDestinations ?? [])], [])
    const none = readMosquittoConf(confFile('log_dest file /tmp/a.log\nlog_dest none\n'))
    assert.deepEqual(none.logFiles, [])
    assert.equal(readMosquittoConf(confFile('max_keepalive 60\n')).logFiles, undefined)
  })

  it('reads log_timestamp and log_timestamp_format (spaces included)', () => {
    const conf = readMosquittoConf(confFile('log_timestamp false\nlog_timestamp_format %Y-%m-%d %H:%M:%S\n'))
    assert.equal(conf.logTimestamp, false)
    assert.equal(conf.logTimestampFormat, '%Y-%m-%d %H:%M:%S')
  })

  it('takes password_file as the option, after checking the file reads', () => {
    const passwords = temp.write('plain.passwd', 'alice:secret\n# comment\n\nbob:two words\n')
    const conf = readMosquittoConf(confFile(`password_file ${passwords}\n`))
    assert.equal(conf.options.passwordFile, passwords)
  })
})

describe('mosquitto.conf include_dir', () => {
  it('reads the *.conf files of the directory in case-sensitive order, capitals first, after the lines before it', () => {
    const dir = path.join(temp.dir, 'conf.d')
    mkdirSync(dir)
    temp.write('conf.d/b.conf', 'max_connections 3\n')
    temp.write('conf.d/a.conf', 'max_connections 2\nlistener 1891\n')
    temp.write('conf.d/B.conf', 'max_connections 1\nlistener 1890\n')
    temp.write('conf.d/z.txt', 'this is not read\n')
    mkdirSync(path.join(dir, 'sub.conf'))
    const main = confFile(`max_connections 0\ninclude_dir ${dir}\n`)
    const conf = readMosquittoConf(main)
    assert.deepEqual(conf.files, [main, path.join(dir, 'B.conf'), path.join(dir, 'a.conf'), path.join(dir, 'b.conf')])
    // max_connections before any listener is broker-wide; after one, that listener's (Mosquitto's meaning)
    assert.equal(conf.options.maxConnections, 1)
    assert.deepEqual(conf.options.listeners, [{ port: 1890, maxConnections: 2 }, { port: 1891, maxConnections: 3 }])
  })

  it('names the included file and line of a bad line', () => {
    const dir = path.join(temp.dir, 'bad.d')
    mkdirSync(dir)
    const bad = temp.write('bad.d/10-bad.conf', '# first\nmax_queued_messages many\n')
    assertConfigError(`include_dir ${dir}\n`, () => `${bad}:2: 'max_queued_messages' needs a whole number, not 'many'`)
  })

  it('refuses include_dir inside an included file, as Mosquitto does', () => {
    const dir = path.join(temp.dir, 'nested.d')
    mkdirSync(dir)
    const inner = temp.write('nested.d/inner.conf', `include_dir ${dir}\n`)
    assertConfigError(`include_dir ${dir}\n`, () => `${inner}:1: 'include_dir' is only allowed in the main configuration file`)
  })

  it('names the line of an include_dir that does not exist', () => {
    const missing = path.join(temp.dir, 'no-such-dir')
    assertConfigError(`\ninclude_dir ${missing}\n`, (file) => `${file}:2: cannot read include_dir '${missing}': no such file or directory`)
  })
})

describe('mosquitto.conf errors name file:line', () => {
  const cases: Array<[string, string, string]> = [
    ['an unknown word', '# comment\nmax_conections 10\n', "2: unknown configuration word 'max_conections'"],
    ['a word without a value', 'max_connections\n', "1: 'max_connections' needs a value"],
    ['a number that is not one', 'max_connections abc\n', "1: 'max_connections' needs a whole number, not 'abc'"],
    ['a fraction', 'max_keepalive 1.5\n', "1: 'max_keepalive' needs a whole number, not '1.5'"],
    ['a value followed by a comment', 'max_connections 10 # ten\n', "1: 'max_connections' takes one value, but '10 # ten' has more (comments must be on their own line)"],
    ['a boolean that is not one', 'allow_anonymous maybe\n', "1: 'allow_anonymous' must be true or false, not 'maybe'"],
    ['listener without a port', '\n\nlistener\n', "3: 'listener' needs a port number: listener <port> [bind address]"],
    ['listener with a word for a port', 'listener mqtt\n', "1: 'listener' needs a whole number, not 'mqtt'"],
    ['listener with too many words', 'listener 1883 0.0.0.0 extra\n', "1: 'listener' takes a port and an optional bind address, not '1883 0.0.0.0 extra'"],
    ['a unix socket listener', 'listener 0 /run/roost.sock\n', "1: unix socket listeners ('/run/roost.sock') are not supported yet"],
    ['a port out of range (schema)', 'listener 70000\n', "1: 'listener 70000': listeners.0.port must be <= 65535"],
    ['port out of range (schema)', 'port -1\n', "1: 'port -1': listeners.0.port must be >= 0"],
    ['max_connections below -1 (schema)', 'max_connections -2\n', "1: 'max_connections -2': maxConnections must be >= -1"],
    ['max_inflight_messages too large (schema)', 'max_inflight_messages 70000\n', "1: 'max_inflight_messages 70000': maxInflightMessages must be <= 65535"],
    ['message_size_limit too large (schema)', 'message_size_limit 268435456\n', "1: 'message_size_limit 268435456': messageSizeLimit must be <= 268435455"],
    ['max_packet_size past the protocol\'s largest packet (schema)', 'max_packet_size 268435461\n', "1: 'max_packet_size 268435461': maxPacketSize must be <= 268435460"],
    ['a connect_timeout of 0 (schema)', 'connect_timeout 0\n', "1: 'connect_timeout 0': connectTimeoutSec must be > 0"],
    ['a connect_timeout over a day (schema)', 'connect_timeout 86401\n', "1: 'connect_timeout 86401': connectTimeoutSec must be <= 86400"],
    ['a connect_timeout that is not a number', 'connect_timeout 10s\n', "1: 'connect_timeout' needs a whole number, not '10s'"],
    ['a negative incomplete_packet_timeout (schema)', 'incomplete_packet_timeout -1\n', "1: 'incomplete_packet_timeout -1': incompletePacketTimeoutSec must be >= 0"],
    ['a negative sys_interval (schema)', 'sys_interval -5\n', "1: 'sys_interval -5': sysIntervalSec must be >= 0"],
    ['a duration without a unit', 'persistent_client_expiration 10\n', "1: 'persistent_client_expiration' needs a duration such as 12h, 14d, 2w, 1m or 1y (s, h, d, w, m = 30 days, y = 365 days), not '10'"],
    ['a zero duration', 'persistent_client_expiration 0d\n', "1: 'persistent_client_expiration' needs a duration such as 12h, 14d, 2w, 1m or 1y (s, h, d, w, m = 30 days, y = 365 days), not '0d'"],
    ['an unknown duration unit', 'persistent_client_expiration 3x\n', "1: 'persistent_client_expiration' needs a duration such as 12h, 14d, 2w, 1m or 1y (s, h, d, w, m = 30 days, y = 365 days), not '3x'"],
    ['dhparamfile', 'listener 8883\ndhparamfile /etc/ssl/dh.pem\n', "2: 'dhparamfile' is not supported yet"],
    ['a certfile without a keyfile', 'listener 8883\ncertfile /etc/ssl/cert.pem\n', "1: listener 8883: TLS has a certificate (certfile) but no private key (keyfile)"],
    ['a keyfile without a certfile, on the default listener', 'keyfile /etc/ssl/key.pem\n', "1: listener 1883: TLS has a private key (keyfile) but no certificate (certfile)"],
    ['a certfile that does not exist', 'listener 8883\ncertfile /nonexistent/cert.pem\nkeyfile /nonexistent/key.pem\n', "1: listener 8883: cannot read certfile '/nonexistent/cert.pem': no such file or directory"],
    ['cafile alone', 'listener 8883\ncafile /etc/ssl/ca.pem\n', "1: listener 8883: TLS needs a certificate and key (certfile, keyfile) or TLS-PSK (psk_hint, psk_file)"],
    ['an unknown tls_version', 'listener 8883\ntls_version tlsv1\n', "2: 'tls_version' must be one of tlsv1.1, tlsv1.2, tlsv1.3, not 'tlsv1'"],
    ['require_certificate that is not a boolean', 'listener 8883\nrequire_certificate yes\n', "2: 'require_certificate' must be true or false, not 'yes'"],
    ['an unknown persistence_sync (schema)', '# durability\npersistence_sync sometimes\n', "2: 'persistence_sync sometimes': persistenceSync must be equal to one of the allowed values"],
    ['a persistence_file that is a path (schema)', 'persistence_file data/roost.db\n', "1: 'persistence_file data/roost.db': persistenceFile must match pattern \"^[^/\\\\]+$\""],
    ['persistence yes', 'persistence yes\n', "1: 'persistence' must be true or false, not 'yes'"],
    ['a negative autosave_interval (schema)', 'autosave_interval -1\n', "1: 'autosave_interval -1': autosaveIntervalSec must be >= 0"],
    ['persistence_location without a value', 'persistence_location\n', "1: 'persistence_location' needs a value"],
    ['autosave_on_changes that is not a boolean', 'autosave_on_changes often\n', "1: 'autosave_on_changes' must be true or false, not 'often'"],
    ['a negative max_inflight_bytes (schema)', 'max_inflight_bytes -1\n', "1: 'max_inflight_bytes -1': maxInflightBytes must be >= 0"],
    ['upgrade_outgoing_qos that is not a boolean', 'upgrade_outgoing_qos always\n', "1: 'upgrade_outgoing_qos' must be true or false, not 'always'"],
    ['maximum_qos out of range (schema)', 'maximum_qos 3\n', "1: 'maximum_qos 3': maxQos must be equal to one of the allowed values"],
    ['a bridge bound to an interface', 'connection remote\naddress 10.0.0.1\nbridge_bind_address 10.0.0.2\n', "3: 'bridge_bind_address' is not supported yet"],
    ['psk_hint without psk_file', 'psk_hint roost\n', "1: listener 1883: TLS has psk_hint but no psk_file to take the keys from"],
    ['a missing acl_file', 'acl_file /etc/mosquitto/no-such-acl\n', "1: cannot read acl_file '/etc/mosquitto/no-such-acl': no such file or directory"],
    ['a mount_point before any listener', 'mount_point site/\n', "1: 'mount_point' must follow a 'listener' line"],
    ['a mount_point with a wildcard (schema)', 'listener 1883\nmount_point site/+/\n', "2: 'mount_point site/+/': listeners.0.mountPoint must match pattern \"^[^#+\\u0000]+$\""],
    ['per_listener_settings after a security word', 'allow_anonymous true\nper_listener_settings true\n', '2: per_listener_settings must be set before any other security setting'],
    ['a listener\'s own allow_zero_length_clientid', 'per_listener_settings true\nlistener 1883\nallow_zero_length_clientid false\n', "3: 'allow_zero_length_clientid' applies to every listener in Roost, so with per_listener_settings true it must come before the first 'listener' line"],
    ['check_retain_source that is not a boolean', 'check_retain_source maybe\n', "1: 'check_retain_source' must be true or false, not 'maybe'"],
    ['log_dest file without a path', 'log_dest file\n', "1: 'log_dest file' needs a file name: log_dest file <path>"],
    ['log_dest syslog', 'log_dest syslog\n', "1: 'log_dest syslog' is not supported yet: use stdout, stderr or file"],
    ['an unknown log_dest', 'log_dest printer\n', "1: unknown log_dest 'printer': use stdout, stderr, file <path> or none"],
    ['log_timestamp that is not a boolean', 'log_timestamp sometimes\n', "1: 'log_timestamp' must be true or false, not 'sometimes'"],
    ['a locale-dependent timestamp conversion', 'log_timestamp_format %Y %Ec\n', "1: 'log_timestamp_format %Y %Ec': '%E' is not supported; use %A %B %C %D %F %H %I %M %P %R %S %T %X %Y %a %b %c %d %e %h %j %k %l %m %n %p %r %s %t %u %w %x %y %z or %%"],
    ['a timestamp format ending in %', 'log_timestamp_format %H:%\n', "1: 'log_timestamp_format %H:%': ends with a lone '%'"],
    ['log_dest with extra words', 'log_dest stdout stderr\n', "1: 'log_dest' takes one value, but 'stdout stderr' has more (comments must be on their own line)"],
    ['log_type subscribe', 'log_type subscribe\n', "1: 'log_type subscribe' is not supported yet"],
    ['an unknown log_type', 'log_type chatty\n', "1: unknown log_type 'chatty': use debug, error, warning, notice, information, all or none"]
  ]
  for (const [name, text, expected] of cases) {
    it(`stops on ${name}`, () => {
      assertConfigError(text, (file) => `${file}:${expected}`)
    })
  }

  it('names the file it cannot read', () => {
    const missing = path.join(temp.dir, 'missing.conf')
    assert.throws(() => readMosquittoConf(missing), { name: 'ConfigError', message: `${missing}: cannot read configuration file: no such file or directory` })
  })

  it('names the password_file line when the password file cannot be read', () => {
    const missing = path.join(temp.dir, 'missing.passwd')
    assertConfigError(`listener 1883\npassword_file ${missing}\n`, (file) => `${file}:2: cannot read password_file '${missing}': no such file or directory`)
  })

  it('names the password file line of a bad password entry', () => {
    const passwords = temp.write('bad.passwd', 'alice:secret\n$7$101$abc\n')
    assertConfigError(`password_file ${passwords}\n`, () => `${passwords}:2: a password file line must be username:password`)
  })
})
