// `npm start`: the standalone broker on 127.0.0.1:1883 in the foreground, built first when the
// build output is missing. Extra arguments go to the roost command: `npm start -- -v`.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cli = path.join(root, 'dist', 'cli.js')

if (!existsSync(cli)) {
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' })
  if (built.status !== 0) process.exit(built.status ?? 1)
}

// In this process, so Ctrl-C and SIGTERM reach the broker's own clean shutdown.
createRequire(import.meta.url)(cli).main(['-h', '127.0.0.1', '-p', '1883', ...process.argv.slice(2)])
