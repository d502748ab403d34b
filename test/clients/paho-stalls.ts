// Runs test/clients/paho/stalls.py (Debian's paho-mqtt in MQTT 5 mode) for the slow- and
// stalled-consumer tests: waits for the script's first JSON line and kills it after the test.
import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import type { TestContext } from 'node:test'

/** Debian's interpreter: the one that has paho-mqtt installed. */
const PYTHON = '/usr/bin/python3'
const SCRIPT = path.join(__dirname, 'paho', 'stalls.py')
/** How long the script may take to print its first line: a hang guard, not a timing. */
const GUARD_MS = 15_000

/** Starts stalls.py with `args` and resolves with its first JSON line. */
export async function startPahoScript (t: TestContext, args: string[]): Promise<{ child: ChildProcess, first: Record<string, unknown> }> {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let stdout = ''
    const guard = setTimeout(() => reject(new Error(`paho printed nothing within ${GUARD_MS} ms: ${stderr}`)), GUARD_MS)
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const end = stdout.indexOf('\n')
      if (end === -1) return
      clearTimeout(guard)
      resolve(JSON.parse(stdout.slice(0, end)) as Record<string, unknown>)
    })
    child.once('exit', (code) => {
      clearTimeout(guard)
      reject(new Error(`paho exited with ${String(code)}: ${stderr}${stdout}`))
    })
  })
  return { child, first }
}
