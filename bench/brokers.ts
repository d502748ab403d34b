// Starts each broker the bench compares in its own process on a free loopback port, and stops it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { build } from 'esbuild'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export type BrokerName = 'roost' | 'aedes' | 'mosquitto'
export const BROKER_NAMES: readonly BrokerName[] = ['roost', 'aedes', 'mosquitto']
export const BROKER_LABELS: Record<BrokerName, string> = { roost: 'Roost', aedes: 'Aedes', mosquitto: 'Mosquitto' }

const ROOT = path.resolve(__dirname, '..')
const MOSQUITTO = '/usr/sbin/mosquitto'
const START_TIMEOUT_MS = 15_000

export interface RunningBroker {
  readonly name: BrokerName
  readonly pid: number
  readonly port: number
  /** From spawning the process to its port accepting connections (a store loaded before that). */
  readonly startedInMs: number
  stop (): Promise<void>
}

/** Why a broker cannot run here, or undefined when it can. */
export function unavailable (name: BrokerName): string | undefined {
  if (name === 'mosquitto' && !existsSync(MOSQUITTO)) return `${MOSQUITTO} is not installed`
  if (name === 'aedes' && !existsSync(path.join(ROOT, 'node_modules/aedes/package.json'))) return 'npm package aedes is not installed'
  return undefined
}

/** A label with the broker's version, for the results header. */
export function describeBroker (name: BrokerName): string {
  if (name === 'mosquitto') {
    const out = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' }).stdout ?? ''
    return /version (\S+)/.exec(out)?.[0].replace('version', 'Mosquitto') ?? 'Mosquitto'
  }
  const file = name === 'aedes' ? 'node_modules/aedes/package.json' : 'package.json'
  const version = (require(path.join(ROOT, file)) as { version: string }).version
  return `${BROKER_LABELS[name]} ${version}`
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/**
 * How Roost is started: the roost command as it ships (`node bin/roost.js -c <conf>`), reading
 * the same mosquitto.conf words the Mosquitto column gets. dist/cli.js is rebuilt first (plain
 * JavaScript, no TypeScript loader in the measured process), so the figures are the current source's.
 */
async function roostCommand (conf: string): Promise<string[]> {
  await build({ entryPoints: [path.join(ROOT, 'lib/cli.ts')], outfile: path.join(ROOT, 'dist/cli.js'), ...BUNDLE })
  return [path.join(ROOT, 'bin/roost.js'), '-c', conf]
}

const BUNDLE = { bundle: true, platform: 'node', target: 'node18', format: 'cjs', packages: 'external', logLevel: 'warning' } as const

/** The settings every broker gets, in mosquitto.conf words (Roost reads the same file). */
function confText (port: number, forMosquitto: boolean, extraConf: readonly string[]): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // The bench's flows are bounded; this only makes sure no queue limit drops anything.
    'max_queued_messages 100000',
    // No broker writes a log line per connection while it is being measured.
    'log_dest none',
    ...(forMosquitto ? ['set_tcp_nodelay true', 'persistence false'] : []),
    ...extraConf,
    ''
  ].join('\n')
}

/**
 * Starts a broker; `nodeFlags` (for Roost and Aedes) go to Node, e.g. `--cpu-prof`; `extraConf`
 * lines (mosquitto.conf words, e.g. persistence) follow the common ones, so they win.
 */
export async function startBroker (name: BrokerName, nodeFlags: string[] = [], extraConf: readonly string[] = []): Promise<RunningBroker> {
  return await launch(name, nodeFlags, extraConf)
}

async function launch (name: BrokerName, nodeFlags: string[], extraConf: readonly string[]): Promise<RunningBroker> {
  const port = await freePort()
  let child: ChildProcess
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-'))
  const conf = path.join(tempDir, 'broker.conf')
  writeFileSync(conf, confText(port, name === 'mosquitto', extraConf))
  const command = name === 'roost' ? await roostCommand(conf) : []
  const spawnedMs = Date.now()
  if (name === 'mosquitto') {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  } else if (name === 'aedes') {
    child = spawn(process.execPath, [...nodeFlags, path.join(ROOT, 'bench/servers/aedes-server.js'), String(port)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  } else {
    child = spawn(process.execPath, [...nodeFlags, ...command], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  let stderr = ''
  // Kept for the error message if the broker does not start; only the tail, whatever it logs.
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-8192) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    }
    rmSync(tempDir, { recursive: true, force: true })
  }
  try {
    await waitForPort(port, child)
  } catch (error) {
    await stop()
    throw new Error(`${name} did not start: ${(error as Error).message}${stderr === '' ? '' : `\n${stderr}`}`)
  }
  return { name, pid: child.pid as number, port, startedInMs: Date.now() - spawnedMs, stop }
}

async function waitForPort (port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    // Often enough that a restart time read from this is not rounded up much.
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`port ${port} not open after ${START_TIMEOUT_MS} ms`)
}
