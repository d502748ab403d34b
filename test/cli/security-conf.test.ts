// The access-control words of mosquitto.conf read into BrokerOptions: with per_listener_settings
// the security words follow the listener they come after, without it they are broker-wide wherever
// they stand (Mosquitto 2's conf.c); mount_point and max_connections belong to their listener.
// Then the same kind of file run by the roost command, with mosquitto_pub on each listener.
import { strict as assert } from 'node:assert'
import { after, describe, it } from 'node:test'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { freePort, makeTempDir, roostPerTest, runCommand } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
const roost = roostPerTest()
const aliceFile = temp.write('alice.passwd', 'alice:alice-pw\n')
const bobFile = temp.write('bob.passwd', 'bob:bob-pw\n')
const aclFile = temp.write('rules.acl', 'user alice\ntopic readwrite #\n')

describe('access-control words in mosquitto.conf', () => {
  it('without per_listener_settings: password_file, acl_file and allow_anonymous are broker-wide even after a listener line', () => {
    const conf = readMosquittoConf(temp.write('global.conf', [
      'allow_zero_length_clientid false',
      'auto_id_prefix roost-',
      'clientid_prefixes plant-',
      'use_username_as_clientid true',
      'check_retain_source true',
      'max_connections 50',
      'listener 1883',
      'mount_point site-a/',
      'max_connections 10',
      `password_file ${aliceFile}`,
      'listener 1884 127.0.0.1',
      `acl_file ${aclFile}`,
      'allow_anonymous true',
      ''
    ].join('\n')))
    assert.deepEqual(conf.options, {
      allowZeroLengthClientid: false,
      autoIdPrefix: 'roost-',
      clientidPrefixes: 'plant-',
      useUsernameAsClientid: true,
      checkRetainSource: true,
      maxConnections: 50,
      listeners: [{ port: 1883, mountPoint: 'site-a/', maxConnections: 10 }, { port: 1884, host: '127.0.0.1' }],
      passwordFile: aliceFile,
      aclFile,
      allowAnonymous: true
    })
  })

  it('with per_listener_settings: each listener takes the words after it; anonymous clients are refused where allow_anonymous is not given', () => {
    const conf = readMosquittoConf(temp.write('per-listener.conf', [
      'per_listener_settings true',
      'listener 1883',
      `password_file ${aliceFile}`,
      `acl_file ${aclFile}`,
      'listener 1884',
      `password_file ${bobFile}`,
      'allow_anonymous true',
      'mount_point guests/',
      ''
    ].join('\n')))
    assert.deepEqual(conf.options, {
      perListenerSettings: true,
      listeners: [
        { port: 1883, passwordFile: aliceFile, aclFile },
        { port: 1884, passwordFile: bobFile, allowAnonymous: true, mountPoint: 'guests/' }
      ],
      allowAnonymous: false
    })
  })

  it('with per_listener_settings, security words before any listener line belong to the default listener (port), as in Mosquitto', () => {
    const conf = readMosquittoConf(temp.write('default-listener.conf', `per_listener_settings true\nport 1885\npassword_file ${bobFile}\nlistener 1886\n`))
    assert.deepEqual(conf.options.listeners, [{ port: 1885, passwordFile: bobFile }, { port: 1886 }])
  })
})

describe('the roost command with per_listener_settings', () => {
  it('takes alice on one listener and bob on the other, each refused where the other belongs (mosquitto_pub)', async () => {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const conf = temp.write('run.conf', [
      'per_listener_settings true',
      `listener ${alicePort} 127.0.0.1`,
      `password_file ${aliceFile}`,
      `listener ${bobPort} 127.0.0.1`,
      `password_file ${bobFile}`,
      ''
    ].join('\n'))
    const broker = roost(['-c', conf])
    await broker.waitForOutput(' running\n')
    const pub = async (port: number, user: string): Promise<number | null> =>
      (await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', user, '-P', `${user}-pw`, '-t', 't', '-m', 'm'])).code
    assert.equal(await pub(alicePort, 'alice'), 0)
    assert.equal(await pub(bobPort, 'bob'), 0)
    assert.notEqual(await pub(alicePort, 'bob'), 0)
    assert.notEqual(await pub(bobPort, 'alice'), 0)
  })
})
