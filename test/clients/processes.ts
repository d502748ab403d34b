// Child processes for client tests (mosquitto_pub/mosquitto_sub, Python paho): started with
// their output captured, waited for, and killed by the test's cleanup if still running, so a
// failing test never leaves a process behind.
import { type ChildProcess, spawn } from 'node:child_process'

export interface Finished {
  /** Exit code, or null when the process was ended by a signal. */
  code: number | null
  stdout: string
  stderr: string
}

export interface Running {
  child: ChildProcess
  finished: Promise<Finished>
}

export class ProcessPool {
  private readonly running = new Set<ChildProcess>()

  start (command: string, args: string[]): Running {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.running.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (text: string) => { stdout += text })
    child.stderr?.setEncoding('utf8').on('data', (text: string) => { stderr += text })
    const finished = new Promise<Finished>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code) => {
        this.running.delete(child)
        resolve({ code, stdout, stderr })
      })
    })
    return { child, finished }
  }

  /** Starts a process and resolves when it has exited. */
  async run (command: string, args: string[]): Promise<Finished> {
    return await this.start(command, args).finished
  }

  /** Kills whatever a test left running; called from afterEach. */
  async killAll (): Promise<void> {
    const left = [...this.running]
    await Promise.all(left.map(async (child) => {
      const closed = new Promise((resolve) => child.once('close', resolve))
      child.kill('SIGKILL')
      await closed
    }))
  }
}
