// Shared pieces of the roost command tests: temp dirs, free ports, a raw CONNECT/CONNACK
// exchange, and the roost command as a child process.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach } from 'node:test'
import mqttPacket from 'mqtt-packet'

export const ROOT = path.resolve(__dirname, '..', '..')

/** How long a test waits for a line or a command before it fails rather than hangs. */
const GUARD_MS = 15_000

/** A temp dir, removed by the returned cleanup. */
export function makeTempDir (): { dir: string, write: (name: string, text: string) => string, remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-cli-'))
  return {
    dir,
    write: (name, text) => {
      const file = path.join(dir, name)
      writeFileSync(file, text)
      return file
    },
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** A loopback port that was free a moment ago (the system picks it). */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Whether a port can be bound on 127.0.0.1 right now. */
export async function portIsFree (port: number): Promise<boolean> {
  const server = net.createServer()
  return await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** Sends one CONNECT and returns the first bytes the broker answers with (the CONNACK). */
export async function connectRaw (port: number, connect: { clientId: string, username?: string, password?: string, protocolVersion?: 4 | 5 }): Promise<Buffer> {
  const packet: mqttPacket.IConnectPacket = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: connect.protocolVersion ?? 4,
    clean: true,
    keepalive: 30,
    clientId: connect.clientId
  }
  if (connect.username !== undefined) packet.username = connect.username
  if (connect.password !== undefined) packet.password = Buffer.from(connect.password, 'utf8')
  const socket = net.connect(port, '127.0.0.1')
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      let received = Buffer.alloc(0)
      socket.on('error', reject)
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk])
        // A CONNACK is short: its length byte says how much follows.
        const length = received[1]
        if (length !== undefined && received.length >= 2 + length) resolve(received.subarray(0, 2 + length))
      })
      socket.on('close', () => reject(new Error(`connection closed after ${received.length} bytes`)))
      socket.write(mqttPacket.generate(packet, { protocolVersion: packet.protocolVersion }))
    })
  } finally {
    socket.destroy()
  }
}

export interface RoostProcess {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves when stderr (or stdout) has a line containing `text`. */
  waitForOutput: (text: string, stream?: 'stdout' | 'stderr') => Promise<void>
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>
  kill: () => void
}

/** Starts `roost <args>`: from the TypeScript source unless a built entry script is given. */
export function startRoost (args: string[], cwd: string = ROOT, builtEntry?: string): RoostProcess {
  const entry = builtEntry === undefined ? ['--import', 'tsx', path.join(ROOT, 'test/cli/roost-entry.ts')] : [builtEntry]
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const out = { stdout: '', stderr: '' }
  const waiters: Array<() => void> = []
  const check = (): void => { for (const waiter of [...waiters]) waiter() }
  child.stdout?.setEncoding('utf8').on('data', (text: string) => { out.stdout += text; check() })
  child.stderr?.setEncoding('utf8').on('data', (text: string) => { out.stderr += text; check() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { check(); resolve(code) }))
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    waitForOutput: (text, stream = 'stderr') => new Promise<void>((resolve, reject) => {
      // A guard so a missing line fails the test instead of hanging the run; not a timing check.
      const guard = setTimeout(() => finish(new Error(`roost did not print '${text}' within ${GUARD_MS} ms; ${stream}:\n${out[stream]}`)), GUARD_MS)
      const finish = (error?: Error): void => {
        clearTimeout(guard)
        waiters.splice(waiters.indexOf(waiter), 1)
        if (error === undefined) resolve()
        else reject(error)
      }
      const waiter = (): void => {
        if (out[stream].includes(text)) finish()
        else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`roost exited before printing '${text}'; stderr:\n${out.stderr}`))
      }
      waiters.push(waiter)
      waiter()
    }),
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
  }
}

/** A starter of roost commands for one test file: whatever a test leaves running is killed after it. */
export function roostPerTest (): (args: string[]) => RoostProcess {
  const started: RoostProcess[] = []
  afterEach(async () => {
    for (const roost of started.splice(0)) {
      roost.kill()
      await roost.exited
    }
  })
  return (args) => {
    const roost = startRoost(args)
    started.push(roost)
    return roost
  }
}

/** The last line of a text, without its newline. */
export function lastLine (text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? ''
}

/** Runs a command to its end and gives back its exit code and output. */
export function runCommand (command: string, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    // A guard so a stuck client fails the test instead of hanging the run; not a timing check.
    const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text })
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })
}
