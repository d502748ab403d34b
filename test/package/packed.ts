// The package as users get it: packed by npm from the built tree, installed by npm the way the
// Node-RED palette manager installs it (`npm install <package>` in the user directory).
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from '../cli/helpers'

/** How long one npm command may take before the test fails instead of hanging (a cold cache fetches from the registry). */
const NPM_GUARD_MS = 240_000

/** Flags every install here uses: the npm cache first, no audit or funding requests, no prompts. */
const INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--no-update-notifier']

export interface CommandResult {
  stdout: string
  stderr: string
}

/** Runs npm with arguments in a directory; rejects with its output when it exits non-zero. */
export async function npm (cwd: string, args: string[]): Promise<CommandResult> {
  return await run('npm', args, cwd)
}

/** Runs a command to its end in a directory, with a guard against a hang; rejects with its output on failure. */
export async function run (command: string, args: string[], cwd: string): Promise<CommandResult> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: NPM_GUARD_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: 'warn' } }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

/**
 * `npm pack` of the project into dir, from what `npm run build` left (the test suite builds
 * first; prepack is skipped so that packing never rewrites files other tests are reading).
 */
export async function packProject (dir: string): Promise<string> {
  for (const built of ['roost.js', 'roost.html', 'dist/lib/index.js', 'dist/cli.js', 'dist/types/lib/index.d.ts']) {
    if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run npm run build first`)
  }
  const { stdout } = await npm(ROOT, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir])
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>
  if (packed === undefined) throw new Error(`npm pack said nothing: ${stdout}`)
  return path.join(dir, packed.filename)
}

/** A fresh Node-RED user directory (as Node-RED creates it: a package.json only) with the tarball installed. */
export async function installIntoUserDir (userDir: string, tarball: string): Promise<void> {
  mkdirSync(userDir, { recursive: true })
  writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }, null, 2))
  await npm(userDir, ['install', tarball, ...INSTALL_FLAGS])
}

/**
 * red.js of a Node-RED version installed once into os.tmpdir()/roost-node-red/<version> and
 * reused by later runs. The install goes to a directory of its own first and is renamed into
 * place when complete, so an interrupted run never leaves a half-installed cache behind.
 */
export async function cachedNodeRed (version: string): Promise<string> {
  const cacheRoot = path.join(os.tmpdir(), 'roost-node-red')
  const dir = path.join(cacheRoot, version)
  const redJs = path.join(dir, 'node_modules', 'node-red', 'red.js')
  if (existsSync(redJs)) return redJs
  mkdirSync(cacheRoot, { recursive: true })
  const staging = mkdtempSync(path.join(cacheRoot, `${version}-installing-`))
  try {
    writeFileSync(path.join(staging, 'package.json'), JSON.stringify({ name: 'node-red-runtime', version: '0.0.0', private: true }))
    // bcrypt is an optional native module: Node-RED falls back to bcryptjs without it.
    await npm(staging, ['install', `node-red@${version}`, '--omit=optional', '--ignore-scripts', ...INSTALL_FLAGS])
    if (!existsSync(redJs)) renameSync(staging, dir)
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
  return redJs
}
