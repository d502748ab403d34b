// Builds the package: the Node-RED entry (roost.js + roost.html at the package root, so that
// Node-RED finds icons/, locales/ and examples/ beside it), the engine for plain Node
// (dist/lib/index.js) with its TypeScript declarations (dist/types/lib/*.d.ts) and the roost
// command (dist/cli.js).
import { build } from 'esbuild'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { readdir, readFile, rename, rm, writeFile, stat } from 'node:fs/promises'
import { promisify } from 'node:util'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: 'linked',
  packages: 'external',
  logLevel: 'warning'
}

async function exists (file) {
  try { await stat(file); return true } catch { return false }
}

// esbuild drops types, so tsc writes the declarations of lib/index.ts and what it reaches. They go
// to a directory of their own, swapped in whole, so that a declaration of a deleted file is never
// packed and a test packing the package meanwhile never sees half-written files. The directories
// being written or removed sit at the project root, outside the packed dist/.
async function buildDeclarations () {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const fresh = path.join(root, `.types-new-${process.pid}`)
  const target = path.join(root, 'dist', 'types')
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.types.json'), '--outDir', fresh], { cwd: root })
  } catch (error) {
    await rm(fresh, { recursive: true, force: true })
    throw new Error(`tsc could not write the declarations:\n${error.stdout ?? ''}${error.stderr ?? ''}`)
  }
  // Two renames back to back: the declarations are missing only between them, not while a
  // whole tree is deleted.
  const old = path.join(root, `.types-old-${process.pid}`)
  await rename(target, old).catch((error) => { if (error.code !== 'ENOENT') throw error })
  await rename(fresh, target)
  await rm(old, { recursive: true, force: true })
}

async function buildEditorHtml () {
  // Each node keeps its editor template beside its runtime; Node-RED wants one .html file.
  const nodesDir = path.join(root, 'nodes')
  const parts = []
  for (const entry of (await readdir(nodesDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory()) continue
    // A node's editor.html may use parts kept beside it in editor-<part>.html: those come first.
    const files = (await readdir(path.join(nodesDir, entry.name))).filter((name) => /^editor-[a-z-]+\.html$/.test(name)).sort()
    if (await exists(path.join(nodesDir, entry.name, 'editor.html'))) files.push('editor.html')
    for (const name of files) parts.push(`<!-- nodes/${entry.name}/${name} -->\n` + await readFile(path.join(nodesDir, entry.name, name), 'utf8'))
  }
  await writeFile(path.join(root, 'roost.html'), parts.join('\n'))
}

const builds = [
  build({ ...common, entryPoints: [path.join(root, 'lib/index.ts')], outfile: path.join(root, 'dist/lib/index.js') }),
  build({ ...common, entryPoints: [path.join(root, 'lib/cli.ts')], outfile: path.join(root, 'dist/cli.js') }),
  buildDeclarations()
]
if (await exists(path.join(root, 'nodes/index.ts'))) {
  builds.push(build({ ...common, entryPoints: [path.join(root, 'nodes/index.ts')], outfile: path.join(root, 'roost.js') }))
  builds.push(buildEditorHtml())
}
await Promise.all(builds)
