// Runs every test/**/*.test.ts with Node's own test runner (TypeScript through tsx).
// Arguments narrow the run: `node scripts/test.mjs connect qos` runs files whose path contains a word.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function findTests (dir) {
  const found = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) found.push(...findTests(full))
    else if (entry.name.endsWith('.test.ts')) found.push(path.relative(root, full))
  }
  return found
}

const words = process.argv.slice(2)
const files = findTests(path.join(root, 'test')).sort()
  .filter((file) => words.length === 0 || words.some((word) => file.includes(word)))
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit'
})
process.exit(result.status ?? 1)
