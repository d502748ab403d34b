// Starts each broker the bench compares in its own process on a free loopback port, and stops it.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
  /** SIGTERM, then SIGKILL after `graceMs` (3 s): a broker writing a large store at exit needs longer. */
  stop (graceMs?: number): Promise<void>
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

export function freePort (): Promise<number> {
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

interface BenchCertificate { certfile: string, keyfile: string }
let certificate: BenchCertificate | undefined

/**
 * One self-signed EC P-256 certificate for 127.0.0.1, made with openssl on first use and removed
 * when the bench exits: every broker's TLS listener serves the same one.
 */
function benchCertificate (): BenchCertificate {
  if (certificate !== undefined) return certificate
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-tls-'))
  // Mosquitto started as root reads its files as the mosquitto user: a throwaway key may be readable.
  chmodSync(dir, 0o755)
  process.once('exit', () => { rmSync(dir, { recursive: true, force: true }) })
  const made = { certfile: path.join(dir, 'server.crt'), keyfile: path.join(dir, 'server.key') }
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', made.keyfile, '-out', made.certfile], { stdio: 'ignore' })
  chmodSync(made.keyfile, 0o644)
  certificate = made
  return made
}

/**
 * The settings every broker gets, in mosquitto.conf words (Roost reads the same file). With a
 * WebSocket port the clients use that listener; the TCP one stays, as Mosquitto 2.0 will not start
 * with WebSocket listeners alone. `extraConf` lines come last, so they win (persistence, a bridge).
 */
function confText (port: number, forMosquitto: boolean, secure: boolean, webSocketPort: number | undefined, extraConf: readonly string[]): string {
  const tls = secure ? benchCertificate() : undefined
  return [
    `listener ${port} 127.0.0.1`,
    ...(webSocketPort === undefined ? [] : [`listener ${webSocketPort} 127.0.0.1`, 'protocol websockets']),
    ...(tls === undefined ? [] : [`certfile ${tls.certfile}`, `keyfile ${tls.keyfile}`]),
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
 * Starts a broker; `nodeFlags` (for Roost and Aedes) go to Node, e.g. `--cpu-prof`. With `secure`
 * its listener speaks TLS (Mosquitto's and Roost's certfile/keyfile; Aedes behind a tls server).
 * With `webSocket` the port it returns is a `protocol websockets` listener (Aedes: ws's stream
 * adapter, as websocket-stream is not installed). `extraConf` lines (mosquitto.conf words:
 * persistence, a bridge section) follow the common ones, so they win.
 */
/** How a bench broker is started; every field is optional. */
export interface BrokerSetup {
  /** Flags for Node (Roost and Aedes), e.g. `--cpu-prof`. */
  nodeFlags?: string[]
  /** The clients' listener speaks TLS. */
  secure?: boolean
  /** The clients' listener speaks MQTT over WebSockets. */
  webSocket?: boolean
  /** mosquitto.conf lines after the common ones. */
  extraConf?: readonly string[]
  /** How long it may take to accept connections (15 s); loading a large store takes longer. */
  startTimeoutMs?: number
}

export async function startBroker (name: BrokerName, setup: BrokerSetup = {}): Promise<RunningBroker> {
  return await launch(name, setup)
}

async function launch (name: BrokerName, { nodeFlags = [], secure = false, webSocket = false, extraConf = [], startTimeoutMs }: BrokerSetup): Promise<RunningBroker> {
  const tcpPort = await freePort()
  const webSocketPort = webSocket ? await freePort() : undefined
  const port = webSocketPort ?? tcpPort
  let child: ChildProcess
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-'))
  const conf = path.join(tempDir, 'broker.conf')
  writeFileSync(conf, confText(tcpPort, name === 'mosquitto', secure, webSocketPort, extraConf))
  const command = name === 'roost' ? await roostCommand(conf) : []
  const spawnedMs = Date.now()
  if (name === 'mosquitto') {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  } else if (name === 'aedes') {
    const tls = secure ? benchCertificate() : undefined
    const args = webSocket ? [String(port), '--websockets'] : [String(port), ...(tls === undefined ? [] : [tls.certfile, tls.keyfile])]
    child = spawn(process.execPath, [...nodeFlags, path.join(ROOT, 'bench/servers/aedes-server.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  } else {
    child = spawn(process.execPath, [...nodeFlags, ...command], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  let stderr = ''
  // Kept for the error message if the broker does not start; only the tail, whatever it logs.
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-8192) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
    rmSync(tempDir, { recursive: true, force: true })
  }
  try {
    await waitForPort(port, child, startTimeoutMs)
  } catch (error) {
    await stop()
    throw new Error(`${name} did not start: ${(error as Error).message}${stderr === '' ? '' : `\n${stderr}`}`)
  }
  return { name, pid: child.pid as number, port, startedInMs: Date.now() - spawnedMs, stop }
}

export async function waitForPort (port: number, child: ChildProcess, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
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
  throw new Error(`port ${port} not open after ${timeoutMs} ms`)
}
