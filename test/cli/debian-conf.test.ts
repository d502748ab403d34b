// Debian's stock /etc/mosquitto/mosquitto.conf (from the `mosquitto` package) under `roost -c`:
// pid_file, persistence true, persistence_location, log_dest file and include_dir as Debian ships
// them. Only persistence_location is pointed at a temp dir, so the test leaves /var/lib/mosquitto
// alone. The file defines no listener, so, as with `mosquitto -c ... -p`, the port from -p
// is bound to the loopback address (Mosquitto 2 ignores -p only when the file has a listener);
// that keeps the test off port 1883 without touching the file's other lines.
import { strict as assert } from 'node:assert'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
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

  it('starts with its persistence true: writes the pid file and the log file, carries messages, keeps a retained message across a restart', async () => {
    const dataDir = path.join(temp.dir, 'var-lib-mosquitto') + '/'
    const substituted = lines.map((line) => line.startsWith('persistence_location ') ? `persistence_location ${dataDir}` : line).join('\n')
    assert.notEqual(substituted, stock)
    assert.match(substituted, /^persistence true$/m)
    const conf = temp.write('mosquitto.conf', substituted)
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
    let again: ReturnType<typeof startRoost> | undefined
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
      // The store's files went where persistence_location says; Mosquitto's own mosquitto.db is not one of them.
      const stored = readdirSync(dataDir)
      assert.ok(stored.some((name) => /^mosquitto\.db\.\d+\.log$/.test(name)), stored.join(', '))
      assert.equal(stored.includes('mosquitto.db'), false)

      again = startRoost(['-c', conf, '-p', String(port)])
      await waitFor(() => /Store .* 1 retained messages/.test(logged()), () => `no restore line in ${logFile}:\n${logged()}\nstderr:\n${again?.stderr() ?? ''}`)
      await waitFor(() => logged().split(' running\n').length === 3, () => `no second 'running' line:\n${logged()}`)
      const kept = await runCommand('mosquitto_sub', [...at, '-t', 'debian/#', '-C', '1', '-v', '-W', '10'])
      assert.deepEqual(kept, { code: 0, stdout: 'debian/stock from the stock file\n', stderr: '' })
      again.child.kill('SIGTERM')
      assert.equal(await again.exited, 0)
    } finally {
      roost.kill()
      await roost.exited
      again?.kill()
      await again?.exited
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
