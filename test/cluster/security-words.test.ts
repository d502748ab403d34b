// TLS and credentials for the link to NATS from a config file: Roost's own cluster_nats_* words,
// each checked on its line, and combinations that make no sense refused with the file named.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { resolveOptions } from '../../lib/options'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { makeTempDir } from '../cli/helpers'
import { assertConfRefused } from './support'

const temp = makeTempDir()
after(() => temp.remove())

describe('cluster TLS and credential words', () => {
  it('reads the TLS files and a user with password into the cluster options', () => {
    const file = temp.write('tls-user.conf', [
      'cluster_nats_url tls://nats.example:4443',
      'cluster_nats_cafile /etc/roost/nats-ca.crt',
      'cluster_nats_certfile /etc/roost/node.crt',
      'cluster_nats_keyfile /etc/roost/node.key',
      'cluster_nats_password s3cret',
      'cluster_nats_username roost',
      ''
    ].join('\n'))
    assert.deepEqual(readMosquittoConf(file).options.cluster, {
      servers: ['tls://nats.example:4443'],
      tls: { cafile: '/etc/roost/nats-ca.crt', certfile: '/etc/roost/node.crt', keyfile: '/etc/roost/node.key' },
      password: 's3cret',
      username: 'roost'
    })
  })

  it('reads a token, a credentials file and an nkey seed file', () => {
    for (const [line, expected] of [
      ['cluster_nats_token t0ken', { token: 't0ken' }],
      ['cluster_nats_credentials /etc/roost/node.creds', { credentials: '/etc/roost/node.creds' }],
      ['cluster_nats_nkeyfile /etc/roost/node.nk', { nkeyfile: '/etc/roost/node.nk' }]
    ] as const) {
      const file = temp.write('one-way.conf', `cluster_nats_url nats://10.0.0.1:4222\n${line}\n`)
      assert.deepEqual(readMosquittoConf(file).options.cluster, { servers: ['nats://10.0.0.1:4222'], ...expected })
    }
  })

  for (const [name, text, expected] of [
    ['a TLS word without a server', 'cluster_nats_cafile /ca.crt\n', "'cluster_nats_cafile' needs a 'cluster_nats_url' line"],
    ['a password without a user', 'cluster_nats_url nats://a\ncluster_nats_password s3cret\n', 'cluster password needs a username'],
    ['two ways to authenticate', 'cluster_nats_url nats://a\ncluster_nats_username roost\ncluster_nats_token t0ken\n', 'cluster sets username and token: choose one way to authenticate to NATS'],
    ['a client certificate without its key', 'cluster_nats_url nats://a\ncluster_nats_certfile /node.crt\n', 'cluster tls has a client certificate without its key'],
    ['a token without a value', 'cluster_nats_url nats://a\ncluster_nats_token\n', "2: 'cluster_nats_token' needs a value"]
  ] as const) {
    it(`refuses ${name}, naming the file`, () => {
      const file = temp.write(`bad-${name.length}.conf`, text)
      assertConfRefused(file, expected)
    })
  }

  it('refuses an nkey seed that is not a user seed, from code', () => {
    assert.throws(() => resolveOptions({ cluster: { servers: ['nats://a'], nkeySeed: 'UBRQCLRHMPLUNHLSDJ' } }), /cluster\.nkeySeed must match pattern/)
  })
})
