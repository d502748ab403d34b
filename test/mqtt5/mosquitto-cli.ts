// Debian's mosquitto_pub and mosquitto_sub against the broker: each run is a child process with
// a bounded life (-W for the subscriber, a kill timer for both) that a test's cleanup ends.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import type { TestContext } from 'node:test'
import type { Broker } from '../../lib'
import { bounded } from './mqttjs'

/** Seconds mosquitto_sub may run before it gives up by itself (its -W option). */
const SUB_TIMEOUT_SEC = 5

export interface RunningSub {
  child: ChildProcess
  /** Resolves with stdout split into lines when mosquitto_sub exits with status 0. */
  output: Promise<string[]>
}

function track (t: TestContext, child: ChildProcess): void {
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
}

/**
 * Starts mosquitto_sub and resolves once the broker has its subscription. `args` should hold -C
 * (message count) so that it exits by itself after the expected messages.
 */
export async function startSub (t: TestContext, broker: Broker, port: number, clientId: string, args: string[]): Promise<RunningSub> {
  const subscribed = new Promise<void>((resolve) => {
    const listener = (event: { clientId: string }): void => {
      if (event.clientId !== clientId) return
      broker.off('subscribe', listener)
      resolve()
    }
    broker.on('subscribe', listener)
  })
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-i', clientId, '-W', String(SUB_TIMEOUT_SEC), ...args])
  track(t, child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const output = (async () => {
    // 'close', not 'exit': stdout may still hold the last lines when the process exits.
    const [code] = await once(child, 'close') as [number | null]
    if (code !== 0) throw new Error(`mosquitto_sub ${args.join(' ')} exited with ${String(code)}: ${stderr}${stdout}`)
    return stdout.split('\n').filter((line) => line !== '')
  })()
  output.catch(() => {})
  await bounded(subscribed, `subscription of ${clientId}`)
  return { child, output }
}

/** Runs mosquitto_pub to completion; rejects unless it exits with status 0. */
export async function runPub (t: TestContext, port: number, args: string[]): Promise<void> {
  const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args])
  track(t, child)
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = await bounded(once(child, 'exit') as Promise<[number | null]>, 'mosquitto_pub to exit')
  if (code !== 0) throw new Error(`mosquitto_pub ${args.join(' ')} exited with ${String(code)}: ${stderr}`)
}
