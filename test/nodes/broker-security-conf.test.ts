// The same setup written as a mosquitto.conf and built in the roost-broker Security tab gives the
// same broker options: TLS listeners (files named in the conf, the same files read by a tls-config
// node), WebSocket listeners, mount points, the access-control and client-id words against the dialog's fields, and an
// acl_file against the access-rule table (compiled by the engine, rule for rule).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, describe, it } from 'node:test'
import { type BrokerOptions, readMosquittoConf, resolveOptions } from '../../lib'
import { aclEntriesRules } from '../../lib/auth/acl-entries'
import { parseAclFile } from '../../lib/auth/acl-file'
import { embeddedOptions } from '../../nodes/broker/settings'
import { makeTempDir } from '../cli/helpers'
import { makeCertificates } from '../helpers/certificates'

const ACL_FILE = `topic read public/#

user panel
topic readwrite panel/#
topic deny panel/secret

pattern write devices/%c/state
pattern read users/%u/inbox
`

/** The Access rules table with the rows a person adds for the file above (the dialog's flow JSON). */
const ACL_TABLE = [
  { kind: 'topic', username: '', access: 'read', filter: 'public/#' },
  { kind: 'topic', username: 'panel', access: 'readwrite', filter: 'panel/#' },
  { kind: 'topic', username: 'panel', access: 'deny', filter: 'panel/secret' },
  { kind: 'pattern', access: 'write', filter: 'devices/%c/state' },
  { kind: 'pattern', access: 'read', filter: 'users/%u/inbox' }
]

describe('mosquitto.conf and the Security tab give the same options', () => {
  const temp = makeTempDir()
  after(() => { temp.remove() })

  it('a TLS listener with a mount point and a WebSocket listener: certfile/keyfile/cafile in the conf, the same files through a tls-config node', () => {
    const certificates = makeCertificates(temp.dir)
    const conf = temp.write('tls.conf', [
      'listener 1883 127.0.0.1', 'listener 8883 127.0.0.1', `certfile ${certificates.file('server.crt')}`, `keyfile ${certificates.file('server.key')}`,
      `cafile ${certificates.file('ca.crt')}`, 'require_certificate true', 'use_identity_as_username true', 'mount_point site-a/',
      'listener 9001 127.0.0.1', 'protocol websockets', ''
    ].join('\n'))
    const fromFile = resolveOptions(readMosquittoConf(conf).options).listeners
    // What tlsPemOf() reads from a tls-config node whose file fields name the same files.
    const read = (name: string): string => readFileSync(certificates.file(name), 'utf8')
    const fromNode = resolveOptions(embeddedOptions({
      port: '1883', bindAddress: '127.0.0.1', listenerTls: 'server-cert', requireCertificate: true, useIdentityAsUsername: true,
      listeners: [{ protocol: 'mqtt', tls: true, port: '8883', host: '127.0.0.1', mountPoint: 'site-a/' }, { protocol: 'websockets', tls: false, port: '9001', host: '127.0.0.1' }]
    }, {}, undefined, (id) => id === 'server-cert' ? { cert: read('server.crt'), key: read('server.key'), ca: read('ca.crt') } : undefined)).listeners
    // The conf names files and the node holds their text: the same certificate either way.
    const asText = fromFile.map(({ tls, ...listener }) => {
      if (tls === undefined) return listener
      const { certfile, keyfile, cafile, ...words } = tls
      return { ...listener, tls: { ...words, cert: readFileSync(certfile ?? '', 'utf8'), key: readFileSync(keyfile ?? '', 'utf8'), ca: readFileSync(cafile ?? '', 'utf8') } }
    })
    assert.deepEqual(fromNode, asText)
  })

  it('client-id words and allow_anonymous', () => {
    const conf = temp.write('clientids.conf', [
      'listener 1883 127.0.0.1', 'allow_anonymous false', 'allow_zero_length_clientid false', 'auto_id_prefix roost-',
      'clientid_prefixes plant-', 'use_username_as_clientid true', 'check_retain_source false', ''
    ].join('\n'))
    const fromFile = resolveOptions(readMosquittoConf(conf).options)
    // The dialog saves text fields as strings and checkboxes as booleans.
    const fromNode = resolveOptions(embeddedOptions({
      port: '1883', bindAddress: '127.0.0.1', allowAnonymous: false, allowZeroLengthClientid: false, autoIdPrefix: 'roost-',
      clientidPrefixes: 'plant-', useUsernameAsClientid: true, checkRetainSource: false
    }, {}))
    const words: Array<keyof BrokerOptions> = ['listeners', 'allowAnonymous', 'allowZeroLengthClientid', 'autoIdPrefix', 'clientidPrefixes', 'useUsernameAsClientid', 'checkRetainSource']
    for (const word of words) assert.deepEqual(fromNode[word], fromFile[word], word)
  })

  it('an acl_file and the access-rule table compile to the same rules', () => {
    const fromNode = embeddedOptions({ acl: ACL_TABLE }, {})
    const table = aclEntriesRules(resolveOptions(fromNode).acl ?? [])
    const file = parseAclFile(ACL_FILE, 'acl')
    const withoutSource = (rules: ReadonlyArray<{ source: string }>): unknown[] => rules.map(({ source: _, ...rule }) => rule)
    assert.deepEqual(withoutSource(table?.rules ?? []), withoutSource(file.rules))
    assert.deepEqual(table?.anonymous, file.anonymous)
    assert.deepEqual(table?.patterns, file.patterns)
    assert.deepEqual([...table?.users ?? []], [...file.users])
  })
})
