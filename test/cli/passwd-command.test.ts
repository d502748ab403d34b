// roost passwd: files it writes are accepted by Debian's mosquitto (password_file, allow_anonymous
// false, mosquitto_pub -u/-P), and it follows mosquitto_passwd's flags, prompts and exit codes.
// Most runs call the command in-process with a piped standard input; the prompt at a real
// terminal runs the command as a child in a pseudo-terminal (Python's pty).
import { strict as assert } from 'node:assert'
import { chmodSync, readFileSync, statSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { parsePasswordText, passwordMatches, type PasswordTable, readPasswordFile } from '../../lib/config/password-file'
import { runPasswd } from '../../lib/passwd/command'
import { startMosquitto, type Mosquitto } from '../client/helpers'
import { makeTempDir, ROOT, runCommand } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())

interface Result { code: number, stdout: string, stderr: string }

/** Runs `roost passwd <args>` in-process; `input` is what standard input (a pipe) holds. */
async function passwd (args: string[], input = ''): Promise<Result> {
  const stdin = new PassThrough()
  stdin.end(input)
  let stdout = ''
  let stderr = ''
  const out = new PassThrough().on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  const err = new PassThrough().on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await runPasswd(args, { stdin: stdin as unknown as NodeJS.ReadStream, stdout: out, stderr: err })
  return { code, stdout, stderr }
}

/** Whether the file's entry for `username` takes `password`; the user must be there. */
async function takes (table: PasswordTable, username: string, password: string): Promise<boolean> {
  const entry = table.get(username)
  assert.ok(entry !== undefined, `no user '${username}'`)
  return await passwordMatches(entry, Buffer.from(password, 'utf8'))
}

async function passwdOk (args: string[], input = ''): Promise<void> {
  const result = await passwd(args, input)
  assert.deepEqual({ code: result.code, stderr: result.stderr }, { code: 0, stderr: '' }, `roost passwd ${args.join(' ')}`)
}

/** `roost passwd` as a child process at a terminal, typing `answers` after the prompts. */
async function passwdAtTerminal (args: string[], exchanges: Array<[string, string]>): Promise<{ code: number, output: string }> {
  const command = [process.execPath, '--import', 'tsx', path.join(ROOT, 'test/cli/roost-entry.ts'), 'passwd', ...args]
  const result = await runCommand('/usr/bin/python3', [path.join(ROOT, 'test/cli/pty-answer.py'), JSON.stringify(exchanges), ...command])
  assert.equal(result.code, 0, result.stderr)
  return JSON.parse(result.stdout) as { code: number, output: string }
}

async function mosquittoPub (port: number, username: string, password: string): Promise<{ code: number | null, stderr: string }> {
  const { code, stderr } = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', `pub-${username}`, '-u', username, '-P', password, '-t', 'passwd/test', '-m', 'x'])
  return { code, stderr }
}

describe('files made by roost passwd in Debian mosquitto', () => {
  let file: string
  let mosquitto: Mosquitto

  before(async () => {
    file = path.join(temp.dir, 'for-mosquitto.passwd')
    await passwdOk(['-c', '-b', file, 'alice', 'alice-secret'])
    await passwdOk(['-H', 'sha512', '-b', file, 'bob', 'bob secret with spaces'])
    await passwdOk(['-I', '5000', '-b', file, 'carol', 'ÜnïcødÉ'])
    await passwdOk([file, 'dave'], 'dave-typed\ndave-typed\n')
    await passwdOk(['-b', file, 'erin', 'erin-secret'])
    await passwdOk(['-D', file, 'erin'])
    await passwdOk(['-b', file, 'alice', 'alice-changed'])
    const terminal = await passwdAtTerminal([file, 'frank'], [['Password: ', 'frank-tty\r'], ['Reenter password: ', 'frank-tty\r']])
    assert.equal(terminal.code, 0, terminal.output)
    mosquitto = await startMosquitto(temp.dir, ['allow_anonymous false', `password_file ${file}`])
  })

  after(async () => { await mosquitto.stop() })

  it('writes $7$ with 101 iterations by default, $6$ with -H sha512, and the iterations -I asks for', () => {
    const table = readPasswordFile(file, 'test')
    assert.deepEqual([...table.keys()], ['alice', 'bob', 'carol', 'dave', 'frank'])
    const alice = table.get('alice')
    assert.ok(alice?.kind === 'pbkdf2-sha512')
    assert.equal(alice.iterations, 101)
    assert.equal(alice.salt.length, 12)
    assert.equal(table.get('bob')?.kind, 'sha512')
    const carol = table.get('carol')
    assert.ok(carol?.kind === 'pbkdf2-sha512')
    assert.equal(carol.iterations, 5000)
    assert.match(readFileSync(file, 'utf8'), /^alice:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==\n/)
  })

  it('mosquitto accepts the right password of every user', async () => {
    const users: Array<[string, string]> = [['alice', 'alice-changed'], ['bob', 'bob secret with spaces'], ['carol', 'ÜnïcødÉ'], ['dave', 'dave-typed'], ['frank', 'frank-tty']]
    for (const [username, password] of users) {
      assert.deepEqual(await mosquittoPub(mosquitto.port, username, password), { code: 0, stderr: '' }, username)
    }
  })

  it('mosquitto refuses a wrong password, the password a user had before, a deleted user and anonymous', async () => {
    const refused: Array<[string, string]> = [['alice', 'alice-secret'], ['bob', 'bob secret with spaces '], ['carol', 'UnicodE'], ['dave', ''], ['erin', 'erin-secret']]
    for (const [username, password] of refused) {
      const result = await mosquittoPub(mosquitto.port, username, password)
      assert.notEqual(result.code, 0, username)
      assert.match(result.stderr, /Connection Refused: not authori[sz]ed/, username)
    }
    const anonymous = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'passwd/test', '-m', 'x'])
    assert.notEqual(anonymous.code, 0)
  })
})

describe('roost passwd command line', () => {
  const file = (name: string): string => path.join(temp.dir, name)

  it('--help prints the usage and exits 0; no arguments print the usage and exit 1, as mosquitto_passwd', async () => {
    const help = await passwd(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: roost passwd \[-H sha512-pbkdf2 \| -H sha512\] \[-I iterations\] \[-c \| -D\] passwordfile username\n/)
    assert.match(help.stdout, /\nExit codes: 0 done, 1 error/)
    const none = await passwd([])
    assert.equal(none.code, 1)
    assert.match(none.stderr, /^roost passwd: no password file given\nUsage: roost passwd /)
  })

  it('exits 1 on flags that cannot go together, bad values, wrong argument counts and bad usernames', async () => {
    const cases: Array<[string[], string]> = [
      [['-c', '-D', 'f', 'u'], '-c and -D cannot be used together'],
      [['-c', '-U', 'f'], '-c and -U cannot be used together'],
      [['-D', '-U', 'f'], '-D and -U cannot be used together'],
      [['-b', '-D', 'f', 'u'], '-b and -D cannot be used together'],
      [['-H', 'md5', 'f', 'u'], "unknown hash type 'md5': expected sha512-pbkdf2 or sha512"],
      [['-H'], '-H needs a value'],
      [['-I', '0', 'f', 'u'], "-I needs a whole number of iterations from 1 to 2147483647, not '0'"],
      [['-I', '10x', 'f', 'u'], "-I needs a whole number of iterations from 1 to 2147483647, not '10x'"],
      [['-x', 'f', 'u'], "unknown option '-x'"],
      [['-b', 'f', 'u'], 'expected passwordfile username password, got 2 arguments'],
      [['-c', 'f', 'u', 'password-without-b'], 'expected passwordfile username, got 3 arguments'],
      [['-U', 'f', 'u'], 'expected passwordfile, got 2 arguments'],
      [['-b', 'f', 'a:b', 'pw'], "a username must not contain ':'"],
      [['-b', 'f', 'tab\there', 'pw'], 'a username must not contain control characters'],
      [['-b', 'f', ' alice', 'pw'], 'a username must not start or end with a blank'],
      [['-b', 'f', '', 'pw'], 'the username is empty'],
      [['-b', 'f', 'u', 'x'.repeat(65536)], 'the password is longer than 65535 bytes']
    ]
    for (const [args, message] of cases) {
      const result = await passwd(args)
      assert.equal(result.code, 1, args.join(' '))
      assert.equal(result.stderr.split('\n')[0], `roost passwd: ${message}`, args.join(' '))
    }
  })

  it('asks twice: different answers exit 2 and an empty one exits 1, leaving the file as it was', async () => {
    const passwords = file('prompted.passwd')
    await passwdOk(['-c', '-b', passwords, 'alice', 'first'])
    const before = readFileSync(passwords, 'utf8')
    const mismatch = await passwd([passwords, 'alice'], 'one\ntwo\n')
    assert.deepEqual(mismatch, { code: 2, stdout: 'Password: \nReenter password: \n', stderr: 'roost passwd: passwords do not match\n' })
    const empty = await passwd([passwords, 'alice'], '\n')
    assert.deepEqual({ code: empty.code, stderr: empty.stderr }, { code: 1, stderr: 'roost passwd: empty password\n' })
    const ended = await passwd(['-c', file('never-made.passwd'), 'bob'], 'only-once\n')
    assert.deepEqual({ code: ended.code, stderr: ended.stderr }, { code: 1, stderr: 'roost passwd: empty password\n' })
    assert.equal(readFileSync(passwords, 'utf8'), before)
    assert.throws(() => statSync(file('never-made.passwd')), { code: 'ENOENT' })
  })

  it('-D of a user not in the file exits 1 and changes nothing; a missing file exits 1', async () => {
    const passwords = file('delete.passwd')
    await passwdOk(['-c', '-b', passwords, 'alice', 'a'])
    const before = readFileSync(passwords, 'utf8')
    assert.deepEqual(await passwd(['-D', passwords, 'bob']), { code: 1, stdout: '', stderr: `roost passwd: user 'bob' is not in '${passwords}'\n` })
    assert.equal(readFileSync(passwords, 'utf8'), before)
    const missing = file('missing.passwd')
    assert.deepEqual(await passwd(['-b', missing, 'alice', 'a']), { code: 1, stdout: '', stderr: `roost passwd: cannot read password file '${missing}': no such file or directory\n` })
  })

  it('refuses to rewrite a file the broker would refuse, naming file:line', async () => {
    const passwords = file('malformed.passwd')
    writeFileSync(passwords, 'alice:$7$abc$x$y\n')
    assert.deepEqual(await passwd(['-b', passwords, 'bob', 'b']), {
      code: 1,
      stdout: '',
      stderr: `roost passwd: ${passwords}:1: malformed $7$ (PBKDF2-SHA512) password hash: expected $7$<iterations>$<salt>$<hash>\n`
    })
    assert.equal(readFileSync(passwords, 'utf8'), 'alice:$7$abc$x$y\n')
  })

  it('changes one user and keeps every other line: comments, blank lines, CRLF endings, a last line without newline', async () => {
    const passwords = file('kept.passwd')
    const bob = 'bob:$6$c2FsdHNhbHRzYWx0$' + Buffer.alloc(64, 1).toString('base64')
    writeFileSync(passwords, `# users of the test\r\nalice:old-plain\r\n\r\n${bob}`)
    await passwdOk(['-b', passwords, 'alice', 'alice-new'])
    await passwdOk(['-b', passwords, 'carol', 'carol-new'])
    const lines = readFileSync(passwords, 'utf8').split(/(?<=\n)/)
    assert.equal(lines.length, 5)
    assert.equal(lines[0], '# users of the test\r\n')
    assert.match(lines[1] ?? '', /^alice:\$7\$101\$\S+\r\n$/)
    assert.equal(lines[2], '\r\n')
    assert.equal(lines[3], `${bob}\n`)
    assert.match(lines[4] ?? '', /^carol:\$7\$101\$\S+\n$/)
    const table = readPasswordFile(passwords, 'test')
    assert.equal(await takes(table, 'alice', 'alice-new'), true)
    assert.equal(await takes(table, 'carol', 'carol-new'), true)
  })

  it('-U hashes plain-text passwords with -H and -I, keeps hashed lines, and a second -U changes nothing', async () => {
    const passwords = file('upgrade.passwd')
    await passwdOk(['-c', '-b', passwords, 'hashed', 'already'])
    const hashedLine = readFileSync(passwords, 'utf8')
    writeFileSync(passwords, `# plain text users\numa:uma plain\n${hashedLine}vic:vic-plain\n`)
    await passwdOk(['-U', '-I', '2000', passwords])
    const upgraded = readFileSync(passwords, 'utf8')
    assert.ok(upgraded.startsWith('# plain text users\numa:$7$2000$'))
    assert.ok(upgraded.includes(hashedLine))
    const table = parsePasswordText(upgraded, passwords)
    assert.equal(await takes(table, 'uma', 'uma plain'), true)
    assert.equal(await takes(table, 'vic', 'vic-plain'), true)
    assert.equal(await takes(table, 'hashed', 'already'), true)
    await passwdOk(['-U', passwords])
    assert.equal(readFileSync(passwords, 'utf8'), upgraded)

    const old = file('upgrade-sha512.passwd')
    writeFileSync(old, 'wes:wes-plain\n')
    await passwdOk(['-U', '-H', 'sha512', old])
    assert.match(readFileSync(old, 'utf8'), /^wes:\$6\$[A-Za-z0-9+/]{16}\$\S+\n$/)
  })

  it('makes a new file readable by its owner only, keeps the mode of an existing one, and writes through a symbolic link', async () => {
    const passwords = file('modes.passwd')
    await passwdOk(['-c', '-b', passwords, 'alice', 'a'])
    assert.equal(statSync(passwords).mode & 0o777, 0o600)
    chmodSync(passwords, 0o640)
    await passwdOk(['-b', passwords, 'bob', 'b'])
    assert.equal(statSync(passwords).mode & 0o777, 0o640)
    const link = file('link.passwd')
    symlinkSync(passwords, link)
    await passwdOk(['-b', link, 'carol', 'c'])
    assert.ok(lstatSync(link).isSymbolicLink())
    assert.deepEqual([...readPasswordFile(passwords, 'test').keys()], ['alice', 'bob', 'carol'])
  })

  it('at a terminal: prompts without echo and exits 0; different answers exit 2; Ctrl-C exits 1 and writes nothing', async () => {
    const passwords = file('terminal.passwd')
    const made = await passwdAtTerminal(['-c', passwords, 'tina'], [['Password: ', 'tina-pass\r'], ['Reenter password: ', 'tina-pass\r']])
    assert.equal(made.code, 0, made.output)
    assert.equal(made.output.includes('tina-pass'), false, made.output)
    assert.equal(await takes(readPasswordFile(passwords, 'test'), 'tina', 'tina-pass'), true)
    const before = readFileSync(passwords, 'utf8')
    const mismatch = await passwdAtTerminal([passwords, 'tina'], [['Password: ', 'one\r'], ['Reenter password: ', 'two\r']])
    assert.equal(mismatch.code, 2, mismatch.output)
    assert.match(mismatch.output, /roost passwd: passwords do not match/)
    const interrupted = await passwdAtTerminal([passwords, 'tina'], [['Password: ', 'half\u0003']])
    assert.equal(interrupted.code, 1, interrupted.output)
    assert.match(interrupted.output, /roost passwd: interrupted; nothing was written/)
    assert.equal(readFileSync(passwords, 'utf8'), before)
  })

  it('is the roost command\'s passwd subcommand', async () => {
    const entry = [path.join(ROOT, 'test/cli/roost-entry.ts')]
    const help = await runCommand(process.execPath, ['--import', 'tsx', ...entry, 'passwd', '--help'])
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /^Usage: roost passwd /)
    const bad = await runCommand(process.execPath, ['--import', 'tsx', ...entry, 'passwd', '-c', '-D', 'f', 'u'])
    assert.deepEqual(bad, { code: 1, stdout: '', stderr: 'roost passwd: -c and -D cannot be used together\n' })
    const made = await runCommand(process.execPath, ['--import', 'tsx', ...entry, 'passwd', '-c', '-b', file('child.passwd'), 'kim', 'kim-pass'])
    assert.deepEqual(made, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual([...readPasswordFile(file('child.passwd'), 'test').keys()], ['kim'])
  })
})
