// Shared pieces of the `roost pub`/`sub`/`rr` tests: the tools run in this process on captured
// streams, or as the roost command in a child process; Mosquitto's tools run as child processes.
// Output is kept as bytes, so it can be compared with mosquitto_sub's byte for byte.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { runPub } from '../../lib/tools/pub'
import { runRr } from '../../lib/tools/rr'
import { runSub } from '../../lib/tools/sub'
import { ROOT } from './helpers'

/** How long one tool may run before the test kills it and fails, rather than hangs. */
const GUARD_MS = 20_000

export interface ToolRun {
  code: number | null
  stdout: Buffer
  stderr: string
}

const IN_PROCESS = { pub: runPub, sub: runSub, rr: runRr }

/** Runs `roost <tool> <args>` in this process, with `stdin` as its input. */
export async function roostTool (tool: 'pub' | 'sub' | 'rr', args: string[], stdin: Buffer | string = ''): Promise<ToolRun> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: Buffer[] = []
  const err: Buffer[] = []
  stdout.on('data', (chunk: Buffer) => out.push(chunk))
  stderr.on('data', (chunk: Buffer) => err.push(chunk))
  const input = Readable.from([Buffer.from(stdin)])
  let guard: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_resolve, reject) => {
    guard = setTimeout(() => reject(new Error(`roost ${tool} ${args.join(' ')} did not finish within ${GUARD_MS} ms`)), GUARD_MS)
  })
  try {
    const code = await Promise.race([IN_PROCESS[tool](args, { stdin: input, stdout, stderr }), timedOut])
    return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }
  } finally {
    clearTimeout(guard)
  }
}

/** Runs a program to its end with `stdin` as input; a guard kills it if it hangs. */
export async function runBytes (command: string, args: string[], stdin: Buffer | string = '', env: NodeJS.ProcessEnv = {}): Promise<ToolRun> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS)
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(guard)
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') })
    })
    // A program that exits before reading its input closes the pipe: that is not a failure.
    child.stdin.on('error', () => {})
    child.stdin.end(stdin)
  })
}

/** Runs the roost command (from source) as a child process: `roost <args>`. */
export async function roostCommand (args: string[], stdin: Buffer | string = '', env: NodeJS.ProcessEnv = {}): Promise<ToolRun> {
  return await runBytes(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/cli/roost-entry.ts'), ...args], stdin, env)
}

/** The JSON time stamp differs from run to run: the rest of the line is what gets compared. */
export function withoutTimestamps (output: Buffer): string {
  return output.toString('latin1').replace(/"tst":(\t?)"[^"]*"/g, '"tst":$1"*"')
}
