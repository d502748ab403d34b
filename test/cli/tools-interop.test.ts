// roost pub, sub and rr with Mosquitto's tools and brokers: roost pub -> mosquitto_sub,
// mosquitto_pub -> roost sub, roost rr against an MQTT.js responder (and mosquitto_rr for the
// same answer), wills, MQTT 5 -D properties, and the exit codes and messages of refusals,
// unreachable brokers and -W, compared with what Mosquitto's tools say.
import { strict as assert } from 'node:assert'
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { type Broker, createBroker } from '../../lib'
import { freePort, startMosquitto, tempDir, type Mosquitto, WAIT_MS } from '../client/helpers'
import { ROOT } from './helpers'
import { roostCommand, roostTool, runBytes, type ToolRun } from './tools-helpers'

interface Watched {
  child: ChildProcess
  /** Resolves when stdout holds `text`. */
  waitFor: (text: string) => Promise<void>
  done: Promise<ToolRun>
}

/**
 * Starts a program and follows its stdout, so a test can wait until it has subscribed (-d).
 * Through stdbuf: mosquitto_sub's debug lines would otherwise wait in its stdio buffer.
 */
function watch (command: string, args: string[]): Watched {
  const child = spawn('stdbuf', ['-oL', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let err = ''
  const waiters: Array<() => void> = []
  child.stdout?.on('data', (chunk: Buffer) => { out.push(chunk); for (const waiter of [...waiters]) waiter() })
  child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString() })
  const guard = setTimeout(() => child.kill('SIGKILL'), WAIT_MS * 2)
  const done = new Promise<ToolRun>((resolve) => child.once('close', (code) => {
    clearTimeout(guard)
    for (const waiter of [...waiters]) waiter()
    resolve({ code, stdout: Buffer.concat(out), stderr: err })
  }))
  const waitFor = async (text: string): Promise<void> => await new Promise<void>((resolve, reject) => {
    const waiter = (): void => {
      if (Buffer.concat(out).toString().includes(text)) { waiters.splice(waiters.indexOf(waiter), 1); resolve() } else if (child.exitCode !== null) reject(new Error(`exited before printing '${text}': ${err}`))
    }
    waiters.push(waiter)
    waiter()
  })
  return { child, waitFor, done }
}

const ROOST = [process.execPath, '--import', 'tsx', path.join(ROOT, 'test/cli/roost-entry.ts')] as const

for (const target of ['mosquitto', 'roost'] as const) {
  describe(`roost pub, sub and rr with ${target} as the broker`, () => {
    const temp = tempDir('tools-interop')
    let mosquitto: Mosquitto | undefined
    let guarded: Mosquitto | undefined
    let broker: Broker | undefined
    let port = 0
    let securePort = 0
    const at = (): string[] => ['-h', '127.0.0.1', '-p', String(port)]

    before(async () => {
      const passwords = path.join(temp.dir, 'passwords')
      // alice:secret, hashed by mosquitto_passwd so both brokers read the same file
      const made = await runBytes('mosquitto_passwd', ['-c', '-b', passwords, 'alice', 'secret'])
      assert.equal(made.code, 0, made.stderr)
      if (target === 'mosquitto') {
        mosquitto = await startMosquitto(temp.dir)
        port = mosquitto.port
        // A second mosquitto that lets only alice in, for the refusals.
        guarded = await startMosquitto(temp.dir, ['allow_anonymous false', `password_file ${passwords}`])
        securePort = guarded.port
      } else {
        broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], sysIntervalSec: 0 })
        const [address] = await broker.listen()
        port = address?.port ?? 0
      }
    })

    after(async () => {
      await mosquitto?.stop()
      await guarded?.stop()
      await broker?.close()
      temp.remove()
    })

    it('roost pub sends -m, -f, -s, -n and --repeat at every QoS, and mosquitto_sub prints them', async () => {
      const file = path.join(temp.dir, 'payload.bin')
      writeFileSync(file, Buffer.from([0x00, 0xff, 0x41]))
      // Subscribed at QoS 1: libmosquitto hands a QoS 2 message over only at PUBREL, which may come
      // after later messages, and the order of the printed lines would then be the broker's timing.
      const sub = watch('mosquitto_sub', [...at(), '-t', 'p1/#', '-v', '-q', '1', '-C', '7', '-d'])
      await sub.waitFor('Subscribed')
      const runs: Array<[string[], string]> = [
        [['-t', 'p1/m', '-m', 'hello', '-q', '0'], ''],
        [['-t', 'p1/f', '-f', file, '-q', '1'], ''],
        [['-t', 'p1/s', '-s', '-q', '2'], 'from stdin\nsecond line'],
        [['-t', 'p1/n', '-n'], ''],
        [['-t', 'p1/r', '-m', 'again', '--repeat', '3', '-q', '1'], '']
      ]
      for (const [args, stdin] of runs) {
        const run = await roostTool('pub', [...at(), ...args], stdin)
        assert.equal(run.code, 0, run.stderr)
      }
      const got = await sub.done
      const printed = got.stdout.toString('latin1').split('\n').filter((line) => line.startsWith('p1/'))
      assert.deepEqual(printed, ['p1/m hello', 'p1/f \x00\xffA', 'p1/s from stdin', 'p1/n (null)', 'p1/r again', 'p1/r again', 'p1/r again'])
      assert.ok(got.stdout.toString('latin1').includes('p1/s from stdin\nsecond line\n'))
    })

    it('roost pub -l sends a message per line of its input, the last one without a newline too', async () => {
      const sub = watch('mosquitto_sub', [...at(), '-t', 'p2/lines', '-F', '[%p] %l', '-C', '4', '-d'])
      await sub.waitFor('Subscribed')
      const run = await roostCommand(['pub', ...at(), '-t', 'p2/lines', '-l', '-q', '1'], 'one\n\nthree with spaces\nlast')
      assert.equal(run.code, 0, run.stderr)
      const got = await sub.done
      assert.deepEqual(got.stdout.toString().split('\n').filter((line) => line.startsWith('[')), ['[one] 3', '[] 0', '[three with spaces] 17', '[last] 4'])
    })

    it('mosquitto_pub -> roost sub: retained and live messages, -v, -T, -R and -C', async () => {
      const retained = await runBytes('mosquitto_pub', [...at(), '-t', 's1/old', '-m', 'retained one', '-r', '-q', '1'])
      assert.equal(retained.code, 0, retained.stderr)
      const sub = watch(ROOST[0], [...ROOST.slice(1), 'sub', ...at(), '-t', 's1/#', '-v', '-q', '1', '-C', '3', '-T', 's1/skip/#', '-d'])
      await sub.waitFor('Subscribed')
      for (const [topic, text] of [['s1/skip/me', 'no'], ['s1/a', 'first'], ['s1/b', 'second']]) {
        const run = await runBytes('mosquitto_pub', [...at(), '-t', topic as string, '-m', text as string, '-q', '1'])
        assert.equal(run.code, 0, run.stderr)
      }
      const got = await sub.done
      assert.equal(got.code, 0, got.stderr)
      assert.deepEqual(got.stdout.toString().split('\n').filter((line) => line.startsWith('s1/')), ['s1/old retained one', 's1/a first', 's1/b second'])
      // -R leaves retained messages out; --retained-only prints them and stops at a fresh one.
      const noRetained = await roostTool('sub', [...at(), '-t', 's1/old', '-R', '-E'])
      assert.equal(noRetained.code, 0)
      assert.equal(noRetained.stdout.length, 0)
      const clear = await roostTool('sub', [...at(), '-t', 's1/old', '--remove-retained', '-C', '1'])
      assert.equal(clear.stdout.toString(), 'retained one\n')
      const cleared = await roostTool('sub', [...at(), '-t', 's1/old', '-E'])
      assert.equal(cleared.stdout.length, 0, 'the retained message was removed')
    })

    it('roost rr asks, an MQTT 5 responder answers, and it prints what mosquitto_rr prints', async () => {
      const responder = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId: `responder-${target}` })
      try {
        responder.on('message', (_topic, payload, packet) => {
          const responseTopic = packet.properties?.responseTopic
          if (responseTopic !== undefined) responder.publish(responseTopic, `answer:${payload.toString()}`, { qos: 1 })
        })
        await responder.subscribeAsync('rr/request', { qos: 1 })
        const args = [...at(), '-t', 'rr/request', '-e', 'rr/response', '-m', 'ping', '-q', '1', '-v']
        const theirs = await runBytes('mosquitto_rr', args)
        const ours = await roostTool('rr', args)
        assert.equal(ours.code, 0, ours.stderr)
        assert.equal(ours.stdout.toString(), 'rr/response answer:ping\n')
        assert.deepEqual(ours.stdout, theirs.stdout)
        const formatted = await roostCommand(['rr', ...at(), '-t', 'rr/request', '-e', 'rr/response', '-m', 'pong', '-F', '%t %l %p'])
        assert.equal(formatted.code, 0, formatted.stderr)
        assert.equal(formatted.stdout.toString(), 'rr/response 11 answer:pong\n')
      } finally {
        await responder.endAsync()
      }
    })

    it('roost rr and roost sub give up after -W with exit code 27, as mosquitto_rr and mosquitto_sub do', async () => {
      const rrArgs = [...at(), '-t', 'rr/nobody', '-e', 'rr/silence', '-m', 'hello?', '-W', '1']
      const theirs = await runBytes('mosquitto_rr', rrArgs)
      const ours = await roostCommand(['rr', ...rrArgs])
      assert.equal(theirs.code, 27)
      assert.equal(ours.code, 27)
      assert.equal(ours.stderr, theirs.stderr)
      const sub = await roostCommand(['sub', ...at(), '-t', 'nothing/here', '-W', '1'])
      assert.equal(sub.code, 27)
      assert.equal(sub.stderr, 'Timed out\n')
    })

    it('MQTT 5: roost pub -D properties arrive as mosquitto_sub prints them, and roost sub reads them', async () => {
      const sub = watch('mosquitto_sub', [...at(), '-t', 'v5/props', '-V', 'mqttv5', '-F', '%P|%C|%R|%D|%F', '-C', '1', '-d'])
      await sub.waitFor('Subscribed')
      const run = await roostTool('pub', [...at(), '-t', 'v5/props', '-m', 'x', '-D', 'publish', 'user-property', 'room', 'kitchen',
        '-D', 'publish', 'content-type', 'text/plain', '-D', 'publish', 'response-topic', 'reply/to', '-D', 'publish', 'correlation-data', 'id-7',
        '-D', 'publish', 'payload-format-indicator', '1', '-D', 'connect', 'user-property', 'via', 'roost'])
      assert.equal(run.code, 0, run.stderr)
      assert.equal((await sub.done).stdout.toString().split('\n').find((line) => line.includes('|')), 'room:kitchen|text/plain|reply/to|id-7|1')
      const retained = await runBytes('mosquitto_pub', [...at(), '-t', 'v5/retained', '-r', '-m', 'y', '-D', 'publish', 'user-property', 'a', 'b', '-D', 'publish', 'message-expiry-interval', '3600'])
      assert.equal(retained.code, 0, retained.stderr)
      const read = await roostTool('sub', [...at(), '-t', 'v5/retained', '-C', '1', '-D', 'subscribe', 'subscription-identifier', '9', '-F', '%P %S %p'])
      assert.equal(read.stdout.toString(), 'a:b 9 y\n')
    })

    it('the broker publishes roost sub\'s will when it is killed, with MQTT 5 will properties', async () => {
      const watcher = watch('mosquitto_sub', [...at(), '-t', 'will/#', '-V', 'mqttv5', '-F', '%t %p %P', '-C', '1', '-d'])
      await watcher.waitFor('Subscribed')
      const doomed = watch(ROOST[0], [...ROOST.slice(1), 'sub', ...at(), '-t', 'will/never', '-d', '-i', `doomed-${target}`,
        '--will-topic', 'will/gone', '--will-payload', 'lost', '--will-qos', '1', '-D', 'will', 'user-property', 'why', 'killed'])
      await doomed.waitFor('Subscribed')
      doomed.child.kill('SIGKILL')
      await doomed.done
      assert.equal((await watcher.done).stdout.toString().split('\n').find((line) => line.startsWith('will/')), 'will/gone lost why:killed')
    })

    it('exits as Mosquitto\'s tools do when no broker listens, and refuses bad arguments alike', async () => {
      const closed = await freePort()
      for (const [tool, theirs] of [['sub', 'mosquitto_sub'], ['pub', 'mosquitto_pub'], ['rr', 'mosquitto_rr']] as const) {
        const args = ['-h', '127.0.0.1', '-p', String(closed), '-t', 'x', ...(tool === 'sub' ? [] : ['-m', 'y']), ...(tool === 'rr' ? ['-e', 'z'] : [])]
        const expected = await runBytes(theirs, args)
        const got = await roostTool(tool, args)
        assert.equal(got.code, expected.code, `${tool}: ${got.stderr}`)
        assert.equal(got.stderr, expected.stderr)
      }
      for (const args of [['-t', 'a/#/b'], ['-t', 'x', '-q', '3'], ['-t', 'x', '-Z'], ['-t', 'x', '-k', '2'], ['-t', 'x', '-V', 'mqttv4'], ['-t', 'x', '-c'],
        ['-t', 'x', '-D', 'publish', 'subscription-identifier', '1'], ['-t', 'x', '-D', 'connect', 'no-such-property', '1'], ['-t', 'x', '--cert', 'c.pem']]) {
        const expected = await runBytes('mosquitto_sub', args)
        const got = await roostTool('sub', args)
        assert.equal(got.code, 1, args.join(' '))
        assert.equal(expected.code, 1, args.join(' '))
        assert.equal(got.stderr.split('\n')[0], expected.stderr.split('\n')[0], args.join(' '))
      }
      const help = await roostCommand(['pub', '--help'])
      assert.equal(help.code, 1, 'mosquitto_pub --help exits with 1, and so does roost pub --help')
      assert.match(help.stdout.toString(), /^roost pub publishes/)
    })

    if (target === 'mosquitto') {
      it('exits with the CONNACK return code (MQTT 3.1.1) or reason code (MQTT 5) when refused, with mosquitto\'s words', async () => {
        const secure = ['-h', '127.0.0.1', '-p', String(securePort)]
        const cases: Array<[string, 'pub' | 'sub' | 'rr', string[]]> = [
          ['mosquitto_sub', 'sub', [...secure, '-t', 'x']],
          ['mosquitto_sub', 'sub', [...secure, '-t', 'x', '-V', 'mqttv5']],
          ['mosquitto_pub', 'pub', [...secure, '-t', 'x', '-m', 'y', '-u', 'alice', '-P', 'wrong']],
          ['mosquitto_rr', 'rr', [...secure, '-t', 'x', '-e', 'y', '-m', 'z']]
        ]
        for (const [theirs, ours, args] of cases) {
          const expected = await runBytes(theirs, args)
          const got = await roostTool(ours, args)
          assert.equal(got.code, expected.code, `${ours} ${args.join(' ')}`)
          assert.ok([5, 135].includes(got.code ?? 0))
          assert.equal(got.stderr, expected.stderr)
        }
        const allowed = await roostTool('pub', [...secure, '-t', 'x', '-m', 'y', '-u', 'alice', '-P', 'secret'])
        assert.equal(allowed.code, 0, allowed.stderr)
      })
    }
  })
}
