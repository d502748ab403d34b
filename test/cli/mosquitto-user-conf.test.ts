// Issue 11's measure of done: a Mosquitto user's mosquitto.conf with a TLS listener, a WebSocket
// listener, a password file made by mosquitto_passwd and an ACL file runs unchanged under
// `roost -c`, and real clients see what they would see from Mosquitto: mosquitto_pub/sub over TLS
// with the CA, MQTT.js over ws://, a refused anonymous client, and a publish outside the user's
// rules refused (PUBACK 0x87 on MQTT 5, MQTT 5.0, 3.4.2.1).
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { after, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { makeCertificates } from '../helpers/certificates'
import { freePort, makeTempDir, roostPerTest, runCommand } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
const roost = roostPerTest()

describe('a Mosquitto configuration with TLS, WebSockets, password_file and acl_file', { timeout: 60_000 }, () => {
  it('runs unchanged under roost -c and serves mosquitto_pub/sub over TLS and MQTT.js over WebSockets by its rules', async (t) => {
    const certs = makeCertificates(temp.dir)
    const passwd = temp.write('passwd', '')
    // Made by Mosquitto's own tool: a $7$ PBKDF2 file as a Mosquitto user has it.
    execFileSync('mosquitto_passwd', ['-b', passwd, 'sensor', 'sensor-pw'])
    execFileSync('mosquitto_passwd', ['-b', passwd, 'dashboard', 'dashboard-pw'])
    const acl = temp.write('acl', [
      '# sensors write their readings, the dashboard reads them',
      'user sensor',
      'topic write sensors/#',
      'user dashboard',
      'topic read sensors/#',
      'topic readwrite dashboard/#',
      ''
    ].join('\n'))
    const [plainPort, tlsPort, wsPort] = [await freePort(), await freePort(), await freePort()]
    const conf = temp.write('mosquitto.conf', [
      `listener ${plainPort} 127.0.0.1`,
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${certs.file('ca.crt')}`,
      `certfile ${certs.file('server.crt')}`,
      `keyfile ${certs.file('server.key')}`,
      'tls_version tlsv1.2',
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      // Subscriptions are logged at debug level, which the test waits on.
      'log_type all',
      ''
    ].join('\n'))
    const broker = roost(['-c', conf])
    await broker.waitForOutput(' running\n')

    const tls = ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', certs.file('ca.crt')]
    const subscriber = runCommand('mosquitto_sub', [...tls, '-u', 'dashboard', '-P', 'dashboard-pw', '-i', 'dash', '-t', 'sensors/#', '-v', '-C', '2', '-W', '30'])
    await broker.waitForOutput('dash 0 sensors/#')

    const published = await runCommand('mosquitto_pub', [...tls, '-u', 'sensor', '-P', 'sensor-pw', '-t', 'sensors/kitchen', '-m', '21.5', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })

    const overWebSocket = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { username: 'sensor', password: 'sensor-pw', protocolVersion: 5, reconnectPeriod: 0 })
    t.after(() => overWebSocket.end(true))
    await overWebSocket.publishAsync('sensors/hall', '19.0', { qos: 1 })
    // Outside the sensor's rules: refused with Not authorized [MQTT 5.0, 3.4.2.1], nothing delivered.
    await assert.rejects(overWebSocket.publishAsync('dashboard/page', 'spoofed', { qos: 1 }), /[Nn]ot authori[sz]ed|135/)

    assert.deepEqual(await subscriber, { code: 0, stdout: 'sensors/kitchen 21.5\nsensors/hall 19.0\n', stderr: '' })

    const anonymous = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(plainPort), '-t', 'sensors/x', '-m', 'x'])
    assert.notEqual(anonymous.code, 0)
    assert.match(anonymous.stderr, /not authori[sz]ed/i)
    const wrongPassword = await runCommand('mosquitto_pub', [...tls, '-u', 'sensor', '-P', 'guess', '-t', 'sensors/x', '-m', 'x'])
    assert.notEqual(wrongPassword.code, 0)
  })
})
