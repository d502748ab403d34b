// The roost command as `npm install -g <tarball>` installs it: npm links bin/roost.js onto the
// PATH of a prefix, and the command runs from there with the package's own dependencies.
import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCommand } from '../cli/helpers'
import { npm, packProject } from './packed'

describe('roost installed globally from the tarball', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-global-'))
  const prefix = path.join(dir, 'prefix')
  const roost = path.join(prefix, 'bin', 'roost')

  before(async () => {
    const tarball = await packProject(dir)
    await npm(dir, ['install', '-g', tarball, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--no-update-notifier'])
  })

  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('roost --help prints the usage and exits 0', async () => {
    const result = await runCommand(roost, ['--help'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^Usage: roost \[-c config_file\]/)
    assert.match(result.stdout, /roost passwd/)
  })

  it('roost passwd --help prints the usage of the password file tool and exits 0', async () => {
    const result = await runCommand(roost, ['passwd', '--help'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^Usage: roost passwd /)
  })

  it('roost --version names the packed version', async () => {
    const result = await runCommand(roost, ['--version'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, `roost version ${(require('../../package.json') as { version: string }).version}\n`)
  })
})
