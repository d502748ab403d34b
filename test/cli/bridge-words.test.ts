// The bridge words of mosquitto.conf: every word read into BrokerOptions.bridges, several bridges
// in one file, Mosquitto's `""` place markers, and an error naming file:line for each bad line
// (the `connection` line for what only shows once a bridge is complete).
import { strict as assert } from 'node:assert'
import { after, describe, it } from 'node:test'
import { ConfigError } from '../../lib/errors'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { makeTempDir } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
let fileCount = 0

function confFile (text: string): string {
  return temp.write(`bridge-${++fileCount}.conf`, text)
}

describe('bridge words in mosquitto.conf', () => {
  it('reads every bridge word of a section into one bridge', () => {
    const file = confFile([
      'listener 1883',
      'connection cloud',
      'address broker.example.com:8883 backup.example.com',
      'round_robin true',
      'start_type lazy',
      'restart_timeout 10 60',
      'idle_timeout 120',
      'threshold 5',
      'keepalive_interval 30',
      'cleansession true',
      'local_clientid here',
      'remote_clientid there',
      'remote_username bridge-user',
      'remote_password s3cret pass',
      'local_username local-user',
      'local_password local-pass',
      'bridge_protocol_version mqttv50',
      'bridge_max_packet_size 65536',
      'bridge_outgoing_retain false',
      'bridge_receive_maximum 50',
      'bridge_session_expiry_interval 3600',
      'try_private false',
      'notifications true',
      'notifications_local_only true',
      'notification_topic bridges/cloud/state',
      'bridge_attempt_unsubscribe false',
      'bridge_cafile /etc/ssl/ca.pem',
      'bridge_capath /etc/ssl/certs',
      'bridge_certfile /etc/ssl/bridge.pem',
      'bridge_keyfile /etc/ssl/bridge.key',
      'bridge_insecure false',
      'bridge_tls_version tlsv1.3',
      'bridge_alpn mqtt',
      'topic sensors/# out 1 home/ site/home/',
      'topic commands/# in 2',
      'topic # both',
      ''
    ].join('\n'))
    const conf = readMosquittoConf(file)
    assert.deepEqual(conf.options.bridges, [{
      name: 'cloud',
      addresses: ['broker.example.com:8883', 'backup.example.com'],
      roundRobin: true,
      startType: 'lazy',
      restartTimeoutSec: 10,
      restartTimeoutCapSec: 60,
      idleTimeoutSec: 120,
      threshold: 5,
      keepaliveSec: 30,
      cleanSession: true,
      localClientId: 'here',
      remoteClientId: 'there',
      remoteUsername: 'bridge-user',
      remotePassword: 's3cret pass',
      localUsername: 'local-user',
      localPassword: 'local-pass',
      protocolVersion: 'mqttv50',
      maxPacketSize: 65536,
      outgoingRetain: false,
      receiveMaximum: 50,
      sessionExpiryIntervalSec: 3600,
      tryPrivate: false,
      notifications: true,
      notificationsLocalOnly: true,
      notificationTopic: 'bridges/cloud/state',
      attemptUnsubscribe: false,
      tls: {
        cafile: '/etc/ssl/ca.pem',
        capath: '/etc/ssl/certs',
        certfile: '/etc/ssl/bridge.pem',
        keyfile: '/etc/ssl/bridge.key',
        insecure: false,
        version: 'tlsv1.3',
        alpn: 'mqtt'
      },
      topics: [
        { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'home/', remotePrefix: 'site/home/' },
        { pattern: 'commands/#', direction: 'in', qos: 2 },
        { pattern: '#', direction: 'both' }
      ]
    }])
  })

  it('starts a new bridge at each connection line; "" marks an empty pattern or prefix', () => {
    const file = confFile([
      'connection one',
      'address 10.0.0.1',
      'topic "" out 1 local/one remote/one',
      'topic # in 0 "" from-one/',
      'connection two',
      'addresses [::1]:1884',
      'bridge_identity roost',
      'bridge_psk 0a1b2c',
      'restart_timeout 7',
      'topic a/# both 0 x/ ""',
      ''
    ].join('\n'))
    const bridges = readMosquittoConf(file).options.bridges
    assert.deepEqual(bridges, [
      {
        name: 'one',
        addresses: ['10.0.0.1'],
        topics: [
          { pattern: '', direction: 'out', qos: 1, localPrefix: 'local/one', remotePrefix: 'remote/one' },
          { pattern: '#', direction: 'in', qos: 0, localPrefix: '', remotePrefix: 'from-one/' }
        ]
      },
      {
        name: 'two',
        addresses: ['[::1]:1884'],
        tls: { identity: 'roost', psk: '0a1b2c' },
        restartTimeoutSec: 7,
        topics: [{ pattern: 'a/#', direction: 'both', qos: 0, localPrefix: 'x/', remotePrefix: '' }]
      }
    ])
  })

  const badLines: Array<[string, string, string]> = [
    ['a bridge word before any connection', 'address 10.0.0.1\n', "1: 'address' belongs to a bridge: it must follow a 'connection' line"],
    ['a bridge without an address', 'connection lonely\ntopic # out\n', "1: bridge 'lonely' has no 'address' line"],
    ['the same bridge name twice', 'connection a\naddress h\nconnection a\n', "3: bridge 'a' is defined twice"],
    ['an address with a bad port', 'connection a\naddress host:99999\n', "2: 'address': 'host:99999' is not host[:port] with a port from 1 to 65535"],
    ['a topic with a bad direction', 'connection a\naddress h\ntopic # sideways\n', "3: 'topic' direction must be in, out or both, not 'sideways'"],
    ['a topic with QoS 3', 'connection a\naddress h\ntopic # out 3\n', "3: 'topic' QoS must be 0, 1 or 2, not '3'"],
    ['a "" pattern with one prefix', 'connection a\naddress h\ntopic "" out 0 local/ ""\n', "3: 'topic \"\" out 0 local/ \"\"': a pattern of \"\" needs both a local and a remote prefix"],
    ['a "" pattern without prefixes', 'connection a\naddress h\n\ntopic "" both\n', "4: 'topic \"\" both': a pattern of \"\" needs both a local and a remote prefix"],
    ['a wildcard in a prefix', 'connection a\naddress h\ntopic # out 0 a/+/ b/\n', "3: 'topic # out 0 a/+/ b/': the local prefix 'a/+/' may not contain wildcards"],
    ['a pattern that is no filter', 'connection a\naddress h\ntopic a/#/b\n', "3: 'topic a/#/b': the local topic filter 'a/#/b' uses '#' other than as the whole last level"],
    ['a keepalive under 5 s', 'connection a\naddress h\nkeepalive_interval 2\n', "3: 'keepalive_interval 2': keepaliveSec must be >= 5"],
    ['an unknown start type', 'connection a\naddress h\nstart_type manual\n', "3: 'start_type manual': startType must be equal to one of the allowed values"],
    ['an unknown protocol', 'connection a\naddress h\nbridge_protocol_version mqttv6\n', "3: 'bridge_protocol_version mqttv6': protocolVersion must be equal to one of the allowed values"],
    ['a restart cap below its base', 'connection a\naddress h\nrestart_timeout 30 10\n', "3: 'restart_timeout 30 10': the cap is below the base"],
    ['a PSK that is not hex', 'connection a\naddress h\nbridge_psk xyz\n', "3: 'bridge_psk xyz': tls.psk must match pattern \"^[0-9a-fA-F]+$\""],
    ['PSK without identity', 'connection a\naddress h\nbridge_psk 00ff\n', "1: bridge 'a': bridge_identity and bridge_psk go together"],
    ['a certificate without a CA', 'connection a\naddress h\nbridge_certfile c.pem\nbridge_keyfile k.pem\n', "1: bridge 'a': TLS settings need bridge_cafile or bridge_capath"],
    ['a notification topic with a wildcard', 'connection a\naddress h\nnotification_topic state/#\n', "3: 'notification_topic state/#': notificationTopic must match pattern \"^[^#+\\u0000]+$\""]
  ]
  for (const [name, text, expected] of badLines) {
    it(`stops at ${name}, naming file:line`, () => {
      const file = confFile(text)
      assert.throws(() => readMosquittoConf(file), (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.equal(error.message, `${file}:${expected}`)
        return true
      })
    })
  }
})
