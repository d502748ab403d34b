// Logging to files as Mosquitto does: `log_dest file` beside the console streams, reopened on
// SIGHUP after logrotate's rename so the old file gets no more lines and the new one does;
// `log_timestamp` and `log_timestamp_format` (checked against the C library's strftime through
// date(1)). The roost command runs as a child process; mosquitto_pub makes the log lines.
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { createSettingsLogger, defaultLogSettings, type LogSettings } from '../../lib/config/logging'
import { compileTimeFormat } from '../../lib/config/strftime'
import { freePort, lastLine, makeTempDir, roostPerTest, runCommand } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
const roost = roostPerTest()

/** A config file with a loopback listener on a free port and the given lines. */
async function confWith (name: string, lines: string[]): Promise<{ conf: string, port: number }> {
  const port = await freePort()
  const conf = temp.write(name, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...lines, ''].join('\n'))
  return { conf, port }
}

async function connectAs (port: number, clientId: string): Promise<void> {
  const published = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', clientId, '-t', 'log/test', '-m', 'x'])
  assert.equal(published.code, 0, published.stderr)
}

describe('log_dest file', () => {
  it('writes the log to the file and stderr; after a rename and SIGHUP the old file gets no more lines, the new one does', async () => {
    const logFile = path.join(temp.dir, 'roost.log')
    const rotated = `${logFile}.1`
    const { conf, port } = await confWith('rotate.conf', [`log_dest file ${logFile}`, 'log_dest stderr'])
    const broker = roost(['-c', conf])
    await broker.waitForOutput(' running\n')
    await connectAs(port, 'before-rotation')
    // mosquitto_pub has disconnected once that line is out: nothing more is written until SIGHUP.
    await broker.waitForOutput('Client before-rotation disconnected.')
    const firstFile = readFileSync(logFile, 'utf8')
    assert.match(firstFile, /^\d+: roost version \S+ running$/m)
    assert.match(firstFile, /^\d+: New client connected from 127\.0\.0\.1:\d+ as before-rotation /m)
    // The file holds exactly what stderr shows: the same lines, written as they happen.
    assert.equal(firstFile, broker.stderr())

    // logrotate's default: move the file away, then SIGHUP.
    renameSync(logFile, rotated)
    broker.child.kill('SIGHUP')
    await broker.waitForOutput('Received SIGHUP, log files reopened')
    const oldFile = readFileSync(rotated, 'utf8')
    await connectAs(port, 'after-rotation')
    await broker.waitForOutput('Client after-rotation disconnected.')
    broker.child.kill('SIGTERM')
    assert.equal(await broker.exited, 0)

    assert.equal(readFileSync(rotated, 'utf8'), oldFile)
    assert.ok(oldFile.startsWith(firstFile))
    assert.doesNotMatch(oldFile, /SIGHUP|after-rotation/)
    const newFile = readFileSync(logFile, 'utf8')
    assert.match(newFile, /^\d+: Received SIGHUP, log files reopened; reloading\.$/m)
    assert.match(newFile, /^\d+: New client connected from 127\.0\.0\.1:\d+ as after-rotation /m)
    // Synchronous writes: the last line is in the file even though the process exits right after it.
    assert.match(lastLine(newFile), /^\d+: roost version \S+ terminating$/)
    assert.equal(oldFile + newFile, broker.stderr())
  })

  it('keeps writing to the open file when the path cannot be reopened, and says so', async () => {
    const dir = path.join(temp.dir, 'logs')
    mkdirSync(dir)
    const { conf, port } = await confWith('lost-dir.conf', [`log_dest file ${path.join(dir, 'roost.log')}`, 'log_dest stderr'])
    const broker = roost(['-c', conf])
    await broker.waitForOutput(' running\n')
    const moved = path.join(temp.dir, 'logs-moved')
    renameSync(dir, moved)
    broker.child.kill('SIGHUP')
    await broker.waitForOutput('Received SIGHUP')
    await connectAs(port, 'still-logged')
    await broker.waitForOutput('as still-logged ')
    const kept = readFileSync(path.join(moved, 'roost.log'), 'utf8')
    assert.match(kept, new RegExp(`^\\d+: cannot reopen log file '${dir}/roost.log': no such file or directory; still writing to the file it had open\\.$`, 'm'))
    assert.match(kept, /as still-logged /)
    assert.equal(existsSync(dir), false)
  })

  it('exits 1 naming the log_dest line when the file cannot be opened', async () => {
    const unreachable = path.join(temp.dir, 'no-such-dir', 'roost.log')
    const { conf } = await confWith('unreachable.conf', ['# logging', `log_dest file ${unreachable}`])
    const broker = roost(['-c', conf])
    assert.equal(await broker.exited, 1)
    assert.equal(broker.stderr(), `roost: ${conf}:4: cannot open log file '${unreachable}': no such file or directory\n`)
  })

  it('SIGHUP without log files leaves the broker running and says it reloads', async () => {
    const { conf, port } = await confWith('plain.conf', [])
    const broker = roost(['-c', conf])
    await broker.waitForOutput(' running\n')
    broker.child.kill('SIGHUP')
    await broker.waitForOutput('Received SIGHUP; reloading.')
    await connectAs(port, 'after-hangup')
    await broker.waitForOutput('as after-hangup ')
  })
})

describe('log_timestamp and log_timestamp_format', () => {
  it('the roost command writes lines without a time, or with the strftime format given', async () => {
    const bare = roost(['-c', (await confWith('bare.conf', ['log_timestamp false'])).conf])
    await bare.waitForOutput('\nroost version')
    assert.match(bare.stderr(), /^roost version \S+ starting$/m)
    const formatted = roost(['-c', (await confWith('iso.conf', ['log_timestamp_format %Y-%m-%dT%H:%M:%S'])).conf])
    await formatted.waitForOutput(' running\n')
    for (const line of formatted.stderr().trimEnd().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: \S/)
  })

  it('every conversion reads as the C library\'s strftime writes it (date(1) in the C locale)', () => {
    const format = '%a %A %b %B %c %C %d %D %e %F %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %w %x %X %y %Y %z %% %%T'
    // Morning and afternoon, one- and two-digit days and hours, a leap year's last day, a Sunday.
    const moments = [Date.UTC(2024, 0, 7, 9, 5, 3), Date.UTC(2024, 11, 31, 23, 59, 59), Date.UTC(2023, 5, 15, 12, 0, 0), Date.UTC(1999, 9, 3, 0, 30, 9)]
    const write = compileTimeFormat(format)
    for (const ms of moments) {
      const expected = execFileSync('date', ['-d', `@${ms / 1000}`, `+${format}`], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } })
      assert.equal(write(new Date(ms)) + '\n', expected, new Date(ms).toISOString())
    }
  })

  it('the logger writes the chosen stamp before each line, or none', () => {
    const written: string[] = []
    const streams = { stdout: (line: string) => written.push(line), stderr: (line: string) => written.push(line) }
    const settings = (change: Partial<LogSettings>): LogSettings => ({ ...defaultLogSettings(), ...change })
    createSettingsLogger(settings({ timestamp: false }), streams).notice('plain')
    createSettingsLogger(settings({ timestampFormat: '[%H:%M:%S]' }), streams).notice('stamped')
    // log_timestamp false wins over a format, as in Mosquitto.
    createSettingsLogger(settings({ timestamp: false, timestampFormat: '%s' }), streams).notice('still plain')
    assert.equal(written[0], 'plain\n')
    assert.match(written[1] ?? '', /^\[\d\d:\d\d:\d\d\]: stamped\n$/)
    assert.equal(written[2], 'still plain\n')
  })
})
