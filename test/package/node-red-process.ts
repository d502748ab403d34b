// One Node-RED process on a loopback port, driven through its admin HTTP API as the editor drives it.
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'

/** How long Node-RED may take to start, or a condition to appear in its log, before the test fails instead of hanging. */
const WAIT_MS = 60_000

export interface NodeSet {
  id: string
  module: string
  types: string[]
  enabled: boolean
  err?: string
}

export class NodeRedProcess {
  private log = ''
  private readonly waiters: Array<() => void> = []
  private readonly exited: Promise<number | null>

  private constructor (private readonly child: ChildProcess, readonly editorPort: number) {
    const onData = (chunk: Buffer): void => {
      this.log += chunk.toString()
      for (const waiter of this.waiters.splice(0)) waiter()
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    this.exited = new Promise((resolve) => { child.once('exit', (code) => { resolve(code) }) })
  }

  /** Starts `node red.js` on userDir (a settings.js is written there) and waits until its flows have started. */
  static async start (redJs: string, userDir: string, editorPort: number): Promise<NodeRedProcess> {
    writeFileSync(path.join(userDir, 'flows.json'), '[]')
    writeFileSync(path.join(userDir, 'settings.js'), `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${editorPort},
  flowFile: 'flows.json',
  telemetry: { enabled: false },
  editorTheme: { tours: false },
  logging: { console: { level: 'info', metrics: false, audit: false } }
}
`)
    const child = spawn(process.execPath, [redJs, '--userDir', userDir, '--port', String(editorPort)], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'] })
    const red = new NodeRedProcess(child, editorPort)
    await red.waitForLog((log) => log.includes('Started flows'), 'Started flows')
    return red
  }

  /** Everything Node-RED wrote to stdout and stderr so far. */
  get output (): string {
    return this.log
  }

  /**
   * Log lines at error level, and those at warn level that name Roost (its module, node types or
   * nodes). A fresh user directory always brings Node-RED's own warnings (projects disabled, a
   * generated credentials key), which say nothing about the package under test.
   */
  problems (): string[] {
    return this.log.split('\n').filter((line) => line.includes('[error]') || (line.includes('[warn]') && /roost/i.test(line)))
  }

  /** Resolves once the log satisfies a condition; fails with the log when Node-RED exits or the wait runs out. */
  async waitForLog (condition: (log: string) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS
    let running = true
    void this.exited.then(() => { running = false })
    while (!condition(this.log)) {
      if (!running) throw new Error(`Node-RED exited while waiting for ${what}:\n${this.log}`)
      if (Date.now() > deadline) throw new Error(`no ${what} in Node-RED's log:\n${this.log}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** GET an admin API path as JSON. */
  async getJson<T> (apiPath: string): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.editorPort}${apiPath}`, { headers: { accept: 'application/json' } })
    if (response.status !== 200) throw new Error(`GET ${apiPath}: ${response.status} ${await response.text()}`)
    return await response.json() as T
  }

  /** GET an admin API path as text (an example flow comes back as the file's text). */
  async getText (apiPath: string): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.editorPort}${apiPath}`)
    if (response.status !== 200) throw new Error(`GET ${apiPath}: ${response.status} ${await response.text()}`)
    return await response.text()
  }

  /** Deploys flows as the editor's Deploy button does (full deployment) and waits until they have started. */
  async deploy (flows: object[]): Promise<void> {
    const started = this.log.split('Started flows').length
    const response = await fetch(`http://127.0.0.1:${this.editorPort}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows)
    })
    if (response.status !== 204 && response.status !== 200) throw new Error(`POST /flows: ${response.status} ${await response.text()}`)
    await this.waitForLog((log) => log.split('Started flows').length > started, 'Started flows after the deploy')
  }

  /** SIGTERM, and waits for the process to end. */
  async stop (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    await this.exited
  }
}
