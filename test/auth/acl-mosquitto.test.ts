// The ACL matcher against Debian's mosquitto 2.0: one acl_file, loaded by mosquitto and parsed by
// parseAclFile; clients of several kinds (anonymous, users with and without a block, ids and
// names with '+') publish with mosquitto_pub and subscribe with mosquitto_sub; what mosquitto
// delivered is compared with aclAllows' predictions for write, read and subscribe.
//
// Knowing that every message has arrived never rests on a pause: after the messages under test,
// one more is published on a topic each receiver may read (sync/...), and mosquitto delivers a
// client's messages in order.
import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { formatSecret, hashPassword } from '../../lib/config/password-file'
import { parseAclFile, type AclRules } from '../../lib/auth/acl-file'
import { aclAllows, type AclClient } from '../../lib/auth/acl-match'
import { topicMatches } from '../../lib/topics/validate'
import { startMosquitto, tempDir, type Mosquitto, WAIT_MS } from '../client/helpers'
import { ClientPool } from '../clients/support'
import { ProcessPool } from '../clients/processes'

const ACL = `# Anonymous clients: the lines before the first user line
topic read public/#
topic write inbox/anonymous
topic readwrite $app/anon/#
topic read sync/#

user alice
topic readwrite a/#
topic read b/+
topic deny a/secret/#
topic write +/drop
topic read $app/#

user bob
topic #
topic deny public/#

user dave
topic read a/+
topic read sync/#

user spy
topic read #
topic read $app/#

user writer
topic write #
topic write $app/#

# A second block for alice adds to the first
user alice
topic read merged/#

pattern readwrite users/%u/#
pattern deny users/%u/private
pattern read devices/%c/#
pattern write devices/%c/out
pattern read sensors/dev-%c
pattern read sync/#
`

interface Identity extends AclClient { password?: string }

const IDENTITIES: Identity[] = [
  { clientId: 'anon-1' },
  { clientId: 'anon+2' },
  { clientId: 'alice-phone', username: 'alice', password: 'alice-pw' },
  { clientId: 'bob-1', username: 'bob', password: 'bob-pw' },
  // No block of her own: patterns only.
  { clientId: 'carol-c', username: 'carol', password: 'carol-pw' },
  // A '+' in the client id: the patterns give dave nothing, his block still applies.
  { clientId: 'dev+1', username: 'dave', password: 'dave-pw' }
]
const SPY: Identity = { clientId: 'acl-spy', username: 'spy', password: 'spy-pw' }
const WRITER: Identity = { clientId: 'acl-writer', username: 'writer', password: 'writer-pw' }

const PROBES = [
  'public/news', 'public/a/b', 'inbox/anonymous', 'a', 'a/b', 'a/b/c', 'a/secret', 'a/secret/x',
  'b/c', 'b/c/d', 'x/drop', 'y/drop', 'merged/m', 'other/thing',
  'users/alice/data', 'users/alice/private', 'users/carol/data', 'users/carol/private', 'users/dave/data',
  'devices/alice-phone/t', 'devices/alice-phone/out', 'devices/carol-c/out', 'devices/bob-1/in',
  'sensors/dev-carol-c', 'sensors/dev-alice-phone', '$app/anon/x', '$app/x', 'sync/drop',
  // Every client's own places under the patterns (a topic name cannot hold the '+' of 'dev+1')
  ...IDENTITIES.filter(({ clientId }) => !clientId.includes('+')).flatMap(({ clientId }) => [`devices/${clientId}/out`, `sensors/dev-${clientId}`])
].filter((topic, index, all) => all.indexOf(topic) === index)
/** The topic that tells listener `index` everything before it has arrived; not a probe. */
const syncTopic = (index: number): string => `sync/${index}`
const FILTERS = ['#', 'a/#', 'users/+/private', '+/drop', '$app/#', 'devices/+/out', 'public/#', 'b/+/d', 'sensors/+']

function describeIdentity (identity: Identity): string {
  return `${identity.username ?? '(anonymous)'}/${identity.clientId}`
}

function loginArgs (port: number, identity: Identity): string[] {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-i', identity.clientId]
  if (identity.username !== undefined) args.push('-u', identity.username, '-P', identity.password ?? '')
  return args
}

/** A running mosquitto_sub. */
interface Listener {
  /** '<topic> <payload>' of every message so far. */
  messages: () => string[]
  /** Resolves once the subscriber has printed this line. */
  saw: (line: string) => Promise<void>
}

describe('acl_file: aclAllows predicts what Debian mosquitto delivers', { timeout: 120_000 }, () => {
  const temp = tempDir('acl')
  const processes = new ProcessPool()
  const clients = new ClientPool()
  let mosquitto: Mosquitto
  let rules: AclRules
  let publishAsWriter: (topic: string, payload: string) => Promise<void>

  /** Starts mosquitto_sub for `identity` on the filters; resolves once its SUBACK came. */
  async function listen (identity: Identity, filters: string[]): Promise<Listener> {
    const args = [...loginArgs(mosquitto.port, identity), '-d', '-q', '1', '-F', 'MSG %t %p']
    for (const filter of filters) args.push('-t', filter)
    // Line-buffered: mosquitto_sub writes its debug lines (the SUBACK) through stdio, block-buffered into a pipe.
    const { child } = processes.start('stdbuf', ['-oL', 'mosquitto_sub', ...args])
    const lines: string[] = []
    const waiters: Array<{ line: string, resolve: () => void }> = []
    let buffered = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const complete = buffered.split('\n')
      buffered = complete.pop() ?? ''
      for (const line of complete) {
        lines.push(line)
        for (const waiter of waiters.filter((w) => w.line === line)) waiter.resolve()
      }
    })
    const saw = async (line: string): Promise<void> => {
      if (lines.includes(line)) return
      await new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`${describeIdentity(identity)} never printed '${line}'; it printed:\n${lines.join('\n')}`)), WAIT_MS)
        waiters.push({ line, resolve: () => { clearTimeout(guard); resolve() } })
      })
    }
    await saw(`Client ${identity.clientId} received SUBACK`)
    return { messages: () => lines.filter((line) => line.startsWith('MSG ')).map((line) => line.slice(4)), saw }
  }

  before(async () => {
    const users = [...IDENTITIES, SPY, WRITER].filter((identity) => identity.username !== undefined)
    const passwordLines = await Promise.all(users.map(async (identity) => `${identity.username as string}:${formatSecret(await hashPassword(Buffer.from(identity.password as string), 'sha512'))}\n`))
    const passwordFile = path.join(temp.dir, 'acl.passwd')
    const aclFile = path.join(temp.dir, 'acl.acl')
    writeFileSync(passwordFile, passwordLines.join(''))
    writeFileSync(aclFile, ACL)
    rules = parseAclFile(ACL, aclFile)
    mosquitto = await startMosquitto(temp.dir, [`password_file ${passwordFile}`, `acl_file ${aclFile}`])
    const { client } = await clients.connect(mosquitto.port, { clientId: WRITER.clientId, username: WRITER.username, password: WRITER.password })
    publishAsWriter = async (topic, payload) => { await client.publishAsync(topic, payload, { qos: 1 }) }
  })

  afterEach(async () => { await processes.killAll() })
  after(async () => {
    await clients.endAll()
    await mosquitto.stop()
    temp.remove()
  })

  it('the file parses, with the pattern that names neither %c nor %u reported', () => {
    assert.equal(rules.rules.length, 24)
    assert.deepEqual(rules.warnings, [`${path.join(temp.dir, 'acl.acl')}:39: pattern 'sync/#' contains neither %c nor %u, so it applies to every client alike`])
  })

  it('write: a PUBLISH reaches subscribers exactly when aclAllows(write) says so', async () => {
    const spy = await listen(SPY, ['#', '$app/#'])
    // One identity after another (a client id is one connection), topics one by one.
    await Promise.all(IDENTITIES.map(async (identity, index) => {
      for (const topic of PROBES) {
        const published = await processes.run('mosquitto_pub', [...loginArgs(mosquitto.port, identity), '-q', '1', '-t', topic, '-m', String(index)])
        assert.equal(published.code, 0, `${describeIdentity(identity)} ${topic}: ${published.stderr}`)
      }
    }))
    await publishAsWriter('sync/spy', 'done')
    await spy.saw('MSG sync/spy done')
    const arrived = new Set(spy.messages())
    const mismatches: string[] = []
    IDENTITIES.forEach((identity, index) => {
      for (const topic of PROBES) {
        const delivered = arrived.has(`${topic} ${index}`)
        const predicted = aclAllows(rules, identity, topic, 'write')
        if (delivered !== predicted) mismatches.push(`${describeIdentity(identity)} write ${topic}: mosquitto ${String(delivered)}, aclAllows ${String(predicted)}`)
      }
    })
    assert.deepEqual(mismatches, [])
  })

  for (const filter of FILTERS) {
    it(`read and subscribe '${filter}': deliveries match aclAllows(read), and only a filter aclAllows(subscribe) refuses gets nothing`, async () => {
      const listeners = await Promise.all(IDENTITIES.map(async (identity, index) => await listen(identity, [filter, syncTopic(index)])))
      for (const topic of PROBES) await publishAsWriter(topic, 'probe')
      for (let index = 0; index < IDENTITIES.length; index++) await publishAsWriter(syncTopic(index), 'done')
      const mismatches: string[] = []
      for (const [index, identity] of IDENTITIES.entries()) {
        const listener = listeners[index] as Listener
        await listener.saw(`MSG ${syncTopic(index)} done`)
        const markers = IDENTITIES.map((_, other) => syncTopic(other))
        const received = new Set(listener.messages().map((message) => message.split(' ')[0] as string).filter((topic) => !markers.includes(topic)))
        for (const topic of PROBES.filter((probe) => topicMatches(filter, probe))) {
          const predicted = aclAllows(rules, identity, topic, 'read')
          if (received.has(topic) !== predicted) mismatches.push(`${describeIdentity(identity)} read ${topic}: mosquitto ${String(received.has(topic))}, aclAllows ${String(predicted)}`)
        }
        const subscribe = aclAllows(rules, identity, filter, 'subscribe')
        if (subscribe !== received.size > 0) mismatches.push(`${describeIdentity(identity)} subscribe ${filter}: mosquitto delivered ${received.size}, aclAllows ${String(subscribe)}`)
      }
      assert.deepEqual(mismatches, [])
    })
  }
})
