// The Cluster tab's fields and credentials → BrokerOptions.cluster: off unless ticked, servers split
// on spaces or commas, secrets from the credentials only, TLS from a tls-config node, and the
// engine's own checks reporting what the dialog let through.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveOptions } from '../../lib/options'
import { clusterOptions } from '../../nodes/broker/cluster'
import { DialogError, type TlsLookup } from '../../nodes/broker/security'
import { embeddedOptions } from '../../nodes/broker/settings'

const PEM: TlsLookup = (id) => id === 'tls1' ? { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', passphrase: 'pass' } : undefined

describe('Cluster tab settings', () => {
  it('leaves the broker alone unless clustering is ticked (a node saved before the tab existed included)', () => {
    assert.equal(clusterOptions({ clusterServers: 'nats://a:4222' }, {}, PEM), undefined)
    assert.equal(clusterOptions({ clusterEnabled: false, clusterServers: 'nats://a:4222' }, {}, PEM), undefined)
    assert.equal(embeddedOptions({}, {}).cluster, undefined)
  })

  it('maps servers, node name, TLS and the NATS user and password', () => {
    const options = embeddedOptions(
      { clusterEnabled: true, clusterServers: ' nats://a:4222, tls://b:4443  nats://c ', clusterNodeId: 'red-1', clusterTls: 'tls1' },
      { clusterUser: 'roost', clusterPassword: 's3cret', clusterToken: '', clusterNkeySeed: '' },
      undefined,
      PEM
    )
    assert.deepEqual(options.cluster, {
      servers: ['nats://a:4222', 'tls://b:4443', 'nats://c'],
      nodeId: 'red-1',
      tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', passphrase: 'pass' },
      username: 'roost',
      password: 's3cret'
    })
    assert.doesNotThrow(() => resolveOptions(options))
  })

  it('maps replicas, leaves them unset when blank, and lets the engine name a bad value', () => {
    assert.equal(clusterOptions({ clusterEnabled: true, clusterServers: 'nats://a', clusterReplicas: ' 3 ' }, {}, PEM)?.replicas, 3)
    assert.equal(clusterOptions({ clusterEnabled: true, clusterServers: 'nats://a', clusterReplicas: '' }, {}, PEM)?.replicas, undefined)
    assert.equal(clusterOptions({ clusterEnabled: true, clusterServers: 'nats://a' }, {}, PEM)?.replicas, undefined)
    const bad = clusterOptions({ clusterEnabled: true, clusterServers: 'nats://a', clusterReplicas: '7' }, {}, PEM)
    assert.throws(() => resolveOptions({ cluster: bad }), /cluster\.replicas must be <= 5/)
    const word = clusterOptions({ clusterEnabled: true, clusterServers: 'nats://a', clusterReplicas: 'x' }, {}, PEM)
    assert.throws(() => resolveOptions({ cluster: word }), /cluster\.replicas must be integer/)
  })

  it('refuses a tls-config node that does not exist with the dialog error key', () => {
    assert.throws(() => clusterOptions({ clusterEnabled: 'true', clusterServers: 'nats://a', clusterTls: 'gone' }, {}, PEM), (error: unknown) => {
      assert.ok(error instanceof DialogError)
      assert.equal(error.key, 'cluster-no-tls-config')
      return true
    })
  })

  it('leaves a bad URL or two ways to log in to the engine, which names the field', () => {
    const badUrl = clusterOptions({ clusterEnabled: true, clusterServers: 'http://a' }, {}, PEM)
    assert.throws(() => resolveOptions({ cluster: badUrl }), /cluster\.servers\.0 must match pattern/)
    const twoWays = clusterOptions({ clusterEnabled: true, clusterServers: 'nats://a' }, { clusterUser: 'roost', clusterToken: 't0ken' }, PEM)
    assert.throws(() => resolveOptions({ cluster: twoWays }), /cluster sets username and token: choose one way to authenticate to NATS/)
    const noServer = clusterOptions({ clusterEnabled: true, clusterServers: '  ' }, {}, PEM)
    assert.throws(() => resolveOptions({ cluster: noServer }), /cluster\.servers must NOT have fewer than 1 items/)
  })
})
