// The roost command as shipped: bin/roost.js loading the esbuild bundle of lib/cli.ts. Built here
// into test-output/ (git-ignored, inside the package so the bundle finds node_modules), with the
// options of scripts/build.mjs, so this test does not depend on an earlier `npm run build`.
import { strict as assert } from 'node:assert'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build } from 'esbuild'
import { freePort, portIsFree, ROOT, runCommand, startRoost } from './helpers'

describe('bin/roost.js with the built bundle', () => {
  let packageDir: string

  before(async () => {
    mkdirSync(path.join(ROOT, 'test-output'), { recursive: true })
    packageDir = mkdtempSync(path.join(ROOT, 'test-output', 'built-cli-'))
    mkdirSync(path.join(packageDir, 'bin'))
    copyFileSync(path.join(ROOT, 'bin', 'roost.js'), path.join(packageDir, 'bin', 'roost.js'))
    await build({
      entryPoints: [path.join(ROOT, 'lib', 'cli.ts')],
      outfile: path.join(packageDir, 'dist', 'cli.js'),
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'cjs',
      packages: 'external',
      logLevel: 'warning'
    })
  })

  after(() => rmSync(packageDir, { recursive: true, force: true }))

  it('prints its version', async () => {
    const result = await runCommand(process.execPath, [path.join(packageDir, 'bin', 'roost.js'), '--version'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^roost version \d+\.\d+\.\d+\n$/)
  })

  it('runs a broker that mosquitto_pub reaches, and exits 0 on SIGTERM', async () => {
    const port = await freePort()
    const roost = startRoost(['-p', String(port)], ROOT, path.join(packageDir, 'bin', 'roost.js'))
    try {
      await roost.waitForOutput(' running\n')
      const published = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'built/cli', '-m', 'x', '-i', 'built-pub'])
      assert.equal(published.code, 0, published.stderr)
      await roost.waitForOutput('as built-pub ')
      roost.child.kill('SIGTERM')
      assert.equal(await roost.exited, 0)
      assert.equal(await portIsFree(port), true)
    } finally {
      roost.kill()
      await roost.exited
    }
  })
})
