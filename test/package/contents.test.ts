// What `npm pack` puts in the package: everything Node-RED, the roost command and TypeScript users
// load, the licence and changelog, and nothing else (no sources, tests, scripts or source maps);
// and no script that npm would run when the package is installed.
import { strict as assert } from 'node:assert'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { ROOT } from '../cli/helpers'
import { npm } from './packed'

/** Scripts npm runs in an installed package (npm docs, "scripts": life cycle of npm install). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare']
const LOCALES = ['de', 'en-US', 'ja', 'zh-CN']

describe('the files npm packs', () => {
  it('hold the built entries, declarations, examples, icons, locales, licence and changelog, and nothing else', async () => {
    const { stdout } = await npm(ROOT, ['pack', '--dry-run', '--json', '--ignore-scripts'])
    const [packed] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>
    assert.ok(packed)
    const files = packed.files.map((file) => file.path)
    const expected = [
      'CHANGELOG.md', 'LICENSE', 'README.md', 'package.json', 'bin/roost.js', 'roost.js', 'roost.html',
      'dist/cli.js', 'dist/lib/index.js', 'dist/types/lib/index.d.ts', 'dist/types/lib/client/index.d.ts',
      ...readdirSync(path.join(ROOT, 'examples')).map((name) => `examples/${name}`),
      ...readdirSync(path.join(ROOT, 'icons')).map((name) => `icons/${name}`),
      ...LOCALES.flatMap((locale) => [`locales/${locale}/roost.json`, `locales/${locale}/roost.html`])
    ]
    assert.deepEqual(expected.filter((file) => !files.includes(file)), [], 'missing from the package')
    const unexpected = files.filter((file) => !expected.includes(file) && !/^dist\/types\/lib\/.+\.d\.ts$/.test(file))
    assert.deepEqual(unexpected, [], 'in the package but not expected')
  })

  it('run nothing at install time, and point types, main and bin at packed files', () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>, main: string, types: string, bin: Record<string, string>, exports: Record<string, { types?: string, default?: string }>
    }
    assert.deepEqual(INSTALL_SCRIPTS.filter((name) => name in manifest.scripts), [])
    assert.equal(manifest.scripts.prepack, 'node scripts/build.mjs')
    assert.equal(manifest.main, 'dist/lib/index.js')
    assert.equal(manifest.types, 'dist/types/lib/index.d.ts')
    assert.deepEqual(manifest.exports['.'], { types: './dist/types/lib/index.d.ts', default: './dist/lib/index.js' })
    assert.deepEqual(manifest.bin, { roost: 'bin/roost.js' })
  })
})
