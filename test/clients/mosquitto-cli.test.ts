// Debian's mosquitto_pub and mosquitto_sub (libmosquitto) against the broker, as child processes.
// Every subscriber is bounded by -C (message count) and -W (seconds before giving up), so a
// broken broker fails a test instead of hanging it; a background subscriber is known to be
// ready when the broker reports its SUBSCRIBE, never after a pause.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import { ProcessPool } from './processes'
import { disconnected, type RunningBroker, startBroker, subscribed } from './support'

const PUB = 'mosquitto_pub'
const SUB = 'mosquitto_sub'
/** Seconds mosquitto_sub waits for its messages before exiting with an error: a hang guard only. */
const GIVE_UP_SEC = '10'

describe('mosquitto_pub and mosquitto_sub', { timeout: 30_000 }, () => {
  let running: RunningBroker
  const processes = new ProcessPool()
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(running.port)]

  before(async () => { running = await startBroker() })
  afterEach(async () => { await processes.killAll() })
  after(async () => { await running.broker.close() })

  test('a retained publish is delivered to a later subscriber with the retain flag', async () => {
    const published = await processes.run(PUB, [...at(), '-t', 'cli/retained', '-m', 'kept for later', '-r', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })

    const verbose = await processes.run(SUB, [...at(), '-t', 'cli/retained', '-C', '1', '-v', '-W', GIVE_UP_SEC])
    assert.deepEqual(verbose, { code: 0, stdout: 'cli/retained kept for later\n', stderr: '' })

    // %r is the retain flag as received [MQTT-3.3.1-6], %q the QoS (lesser of 1 and the default 0).
    const flags = await processes.run(SUB, [...at(), '-t', 'cli/#', '-C', '1', '-F', '%t|%q|%r|%p', '-W', GIVE_UP_SEC])
    assert.deepEqual(flags, { code: 0, stdout: 'cli/retained|0|1|kept for later\n', stderr: '' })
  })

  test('-q 2 round trip: published and delivered at QoS 2', async () => {
    const subscriber = processes.start(SUB, [...at(), '-i', 'cli-q2-sub', '-t', 'cli/q2', '-q', '2', '-C', '1', '-F', '%q|%t|%p', '-W', GIVE_UP_SEC])
    await subscribed(running.broker, 'cli-q2-sub')
    const published = await processes.run(PUB, [...at(), '-t', 'cli/q2', '-m', 'exactly once', '-q', '2'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(await subscriber.finished, { code: 0, stdout: '2|cli/q2|exactly once\n', stderr: '' })
  })

  test('a persistent session (-c -i) receives the QoS 1 messages published while it was away', async () => {
    const session = ['-c', '-i', 'cli-persistent', '-q', '1', '-t', 'cli/away/#']
    // First visit: subscribe, take one message, and leave with DISCONNECT (-C 1).
    const gone = disconnected(running.broker, 'cli-persistent')
    const firstVisit = processes.start(SUB, [...at(), ...session, '-C', '1', '-v', '-W', GIVE_UP_SEC])
    await subscribed(running.broker, 'cli-persistent')
    await processes.run(PUB, [...at(), '-t', 'cli/away/0', '-m', 'while here', '-q', '1'])
    assert.deepEqual(await firstVisit.finished, { code: 0, stdout: 'cli/away/0 while here\n', stderr: '' })
    assert.equal(await gone, 'disconnect')

    for (let i = 1; i <= 3; i++) {
      const published = await processes.run(PUB, [...at(), '-t', `cli/away/${i}`, '-m', `while away ${i}`, '-q', '1'])
      assert.equal(published.code, 0)
    }
    // Second visit: the queued messages arrive, in order, at QoS 1.
    const secondVisit = await processes.run(SUB, [...at(), ...session, '-C', '3', '-F', '%q|%t|%p', '-W', GIVE_UP_SEC])
    assert.deepEqual(secondVisit, {
      code: 0,
      stdout: '1|cli/away/1|while away 1\n1|cli/away/2|while away 2\n1|cli/away/3|while away 3\n',
      stderr: ''
    })
  })

  for (const [version, protocolVersion] of [['mqttv31', 3], ['mqttv311', 4]] as const) {
    test(`-V ${version}: connects with protocol level ${protocolVersion} and round-trips a message`, async () => {
      const clientId = `cli-${version}`
      const connected = new Promise<number>((resolve) => {
        const listener = (info: { clientId: string, protocolVersion: number }): void => {
          if (info.clientId !== clientId) return
          running.broker.off('clientConnected', listener)
          resolve(info.protocolVersion)
        }
        running.broker.on('clientConnected', listener)
      })
      const subscriber = processes.start(SUB, [...at(), '-V', version, '-i', clientId, '-t', `cli/${version}`, '-q', '1', '-C', '1', '-v', '-W', GIVE_UP_SEC])
      assert.equal(await connected, protocolVersion)
      await subscribed(running.broker, clientId)
      const published = await processes.run(PUB, [...at(), '-V', version, '-t', `cli/${version}`, '-m', `spoken in ${version}`, '-q', '1'])
      assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
      assert.deepEqual(await subscriber.finished, { code: 0, stdout: `cli/${version} spoken in ${version}\n`, stderr: '' })
    })
  }

  test('a topic as deep as Mosquitto allows (201 levels) is delivered; one level deeper is never acknowledged', async () => {
    const deep = (levels: number): string => ['cli-deep', ...Array.from({ length: levels - 1 }, () => 'x')].join('/')
    const subscriber = processes.start(SUB, [...at(), '-i', 'cli-deep-sub', '-t', 'cli-deep/#', '-q', '1', '-C', '1', '-F', '%q|%t', '-W', GIVE_UP_SEC])
    await subscribed(running.broker, 'cli-deep-sub')
    const published = await processes.run(PUB, [...at(), '-t', deep(201), '-m', 'deep', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(await subscriber.finished, { code: 0, stdout: `1|${deep(201)}\n`, stderr: '' })
    // The broker ends the connection instead of a PUBACK for a message it drops: mosquitto_pub
    // reports the loss (exit code 7, MOSQ_ERR_CONN_LOST) rather than a delivery.
    const tooDeep = await processes.run(PUB, [...at(), '-t', deep(202), '-m', 'too deep', '-q', '1'])
    assert.deepEqual(tooDeep, { code: 7, stdout: '', stderr: 'Error: The connection was lost.\n' })
  })
})

describe('mosquitto_pub -u/-P against a broker that requires a password', { timeout: 30_000 }, () => {
  let running: RunningBroker
  const processes = new ProcessPool()
  const at = (): string[] => ['-h', '127.0.0.1', '-p', String(running.port)]

  before(async () => { running = await startBroker({ allowAnonymous: false, users: { alice: 'wonderland' } }) })
  afterEach(async () => { await processes.killAll() })
  after(async () => { await running.broker.close() })

  test('the right password is accepted and the message delivered', async () => {
    const subscriber = processes.start(SUB, [...at(), '-u', 'alice', '-P', 'wonderland', '-i', 'cli-auth-sub', '-t', 'auth/t', '-q', '1', '-C', '1', '-v', '-W', GIVE_UP_SEC])
    await subscribed(running.broker, 'cli-auth-sub')
    const published = await processes.run(PUB, [...at(), '-u', 'alice', '-P', 'wonderland', '-t', 'auth/t', '-m', 'let in', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(await subscriber.finished, { code: 0, stdout: 'auth/t let in\n', stderr: '' })
  })

  test('a wrong password is refused with CONNACK 4: mosquitto_pub exits non-zero and says why', async () => {
    const refused = new Promise<number>((resolve) => running.broker.once('clientRefused', (event) => { resolve(event.reasonCode) }))
    const published = await processes.run(PUB, [...at(), '-u', 'alice', '-P', 'looking-glass', '-t', 'auth/t', '-m', 'kept out', '-q', '1'])
    assert.equal(published.code, 4, 'mosquitto_pub exits with the CONNACK return code')
    assert.equal(published.stdout, '')
    assert.equal(published.stderr, 'Connection error: Connection Refused: bad user name or password.\nError: The connection was refused.\n')
    // 0x86: Bad User Name or Password, sent to a 3.1.1 client as return code 4 [MQTT-3.2.2-5]
    assert.equal(await refused, 0x86)
  })

  test('no username at all is refused when anonymous clients are not allowed', async () => {
    const published = await processes.run(PUB, [...at(), '-t', 'auth/t', '-m', 'anonymous', '-q', '1'])
    assert.equal(published.code, 5, 'mosquitto_pub exits with the CONNACK return code')
    // CONNACK 5, as Mosquitto answers an anonymous client when allow_anonymous is false
    assert.equal(published.stderr, 'Connection error: Connection Refused: not authorised.\nError: The connection was refused.\n')
  })
})
