// Debian's stock /etc/mosquitto/mosquitto.conf (from the `mosquitto` package) under `roost -c`:
// pid_file, persistence_location, log_dest file and include_dir as Debian ships them. Only the
// `persistence true` line is taken out, until Roost can keep state on disk; with it the file stops
// at that line. The file defines no listener, so, as with `mosquitto -c ... -p`, the port from -p
// is bound to the loopback address (Mosquitto 2 ignores -p only when the file has a listener);
// that keeps the test off port 1883 without touching the file's other lines.
import { strict as assert } from 'node:assert'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { freePort, lastLine, makeTempDir, roostPerTest, runCommand } from './helpers'

const DEBIAN_CONF = '/etc/mosquitto/mosquitto.conf'
const temp = makeTempDir()
after(() => temp.remove())
const startRoost = roostPerTest()

/** The value of the first line that starts with `word`. */
function valueOf (conf: string, word: string): string {
  const line = conf.split('\n').find((text) => text.startsWith(`${word} `))
  assert.ok(line !== undefined, `${DEBIAN_CONF} has no ${word} line`)
  return line.slice(word.length + 1).replace(/^file /, '').trim()
}

describe("Debian's stock mosquitto.conf", () => {
  const stock = readFileSync(DEBIAN_CONF, 'utf8')
  const lines = stock.split('\n')

  it('is the file this test expects: pid_file, persistence, log_dest file, include_dir and no listener', () => {
    for (const word of ['pid_file', 'persistence', 'persistence_location', 'log_dest', 'include_dir']) valueOf(stock, word)
    assert.equal(lines.some((line) => /^(listener|port|bind_address) /.test(line)), false)
  })

  it('stops at its persistence true line, naming it, before anything is written', async () => {
    const lineNumber = lines.findIndex((line) => line.startsWith('persistence ')) + 1
    const roost = startRoost(['-c', DEBIAN_CONF, '-p', String(await freePort())])
    assert.equal(await roost.exited, 3)
    assert.equal(roost.stderr(), `roost: ${DEBIAN_CONF}:${lineNumber}: 'persistence true' is not supported yet: Roost keeps sessions and retained messages in memory only (persistence false)\n`)
  })

  it('starts unchanged without its persistence line: writes the pid file and the log file, carries messages, stops cleanly', async () => {
    const withoutPersistence = lines.filter((line) => !line.startsWith('persistence ')).join('\n')
    assert.equal(withoutPersistence.split('\n').length, lines.length - 1)
    const conf = temp.write('mosquitto.conf', withoutPersistence)
    const pidFile = valueOf(stock, 'pid_file')
    const logFile = valueOf(stock, 'log_dest')
    // Debian's package makes these when mosquitto is installed or started; a test machine may lack
    // them. Whatever the test creates it removes again; a log file that was there keeps its lines.
    const created = [mkdirSync(path.dirname(pidFile), { recursive: true }), mkdirSync(path.dirname(logFile), { recursive: true })]
    if (!existsSync(logFile)) created.push(logFile)
    const pidBefore = existsSync(pidFile) ? readFileSync(pidFile) : undefined
    const logStart = existsSync(logFile) ? statSync(logFile).size : 0
    const port = await freePort()
    const roost = startRoost(['-c', conf, '-p', String(port)])
    try {
      const logged = (): string => existsSync(logFile) ? readFileSync(logFile).subarray(logStart).toString('utf8') : ''
      await waitFor(() => / running\n/.test(logged()), () => `no 'running' line in ${logFile}:\n${logged()}\nstderr:\n${roost.stderr()}`)
      assert.equal(readFileSync(pidFile, 'utf8'), `${roost.child.pid}\n`)
      assert.match(logged(), new RegExp(`^\\d+: Config loaded from ${conf}\\.$`, 'm'))
      assert.match(logged(), new RegExp(`^\\d+: Opening ipv4 listen socket on port ${port}\\.$`, 'm'))
      assert.match(logged(), /^\d+: Starting in local only mode\./m)

      // Retained, so the subscriber gets it whenever its subscription lands.
      const at = ['-h', '127.0.0.1', '-p', String(port)]
      const published = await runCommand('mosquitto_pub', [...at, '-t', 'debian/stock', '-q', '1', '-r', '-m', 'from the stock file'])
      assert.equal(published.code, 0, published.stderr)
      const received = await runCommand('mosquitto_sub', [...at, '-i', 'debian-sub', '-t', 'debian/#', '-q', '1', '-C', '1', '-v', '-W', '10'])
      assert.deepEqual(received, { code: 0, stdout: 'debian/stock from the stock file\n', stderr: '' })
      assert.match(logged(), /^\d+: New client connected from 127\.0\.0\.1:\d+ as debian-sub /m)

      roost.child.kill('SIGTERM')
      assert.equal(await roost.exited, 0)
      // Debian's file logs to the file only: nothing on the terminal.
      assert.equal(roost.stderr(), '')
      assert.match(lastLine(logged()), /^\d+: roost version \S+ terminating$/)
      assert.equal(existsSync(pidFile), false)
    } finally {
      roost.kill()
      await roost.exited
      if (pidBefore !== undefined) writeFileSync(pidFile, pidBefore)
      for (const made of created.reverse()) if (made !== undefined) rmSync(made, { recursive: true, force: true })
    }
  })
})

/** Polls a file-based condition at a short interval; the limit is a hang guard, not a timing check. */
async function waitFor (condition: () => boolean, describeFailure: () => string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.fail(describeFailure())
}
