// Node-RED as a person runs it, for the browser specs: `npm start` (scripts/start.mjs) on free
// ports in a temporary user directory with its starter flow, and headless Chromium on it.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { freePort } from './support'

export const root = path.resolve(__dirname, '../..')
/** Where the browser specs save their screenshots. */
export const outputDir = path.join(root, 'test-output')
/** How long any one step may wait for the page: a hang guard only. */
export const WAIT_MS = 30_000

export interface EditorSession {
  page: Page
  editorPort: number
  /** The port of the starter flow's embedded broker. */
  mqttPort: number
  userDir: string
  /** Everything Node-RED wrote to stdout and stderr so far. */
  output: () => string
  /** Closes the browser and stops Node-RED; removes the temporary directories. */
  stop: () => Promise<void>
}

/** A Node-RED process as `npm start` runs it, on free ports in a temporary user directory. */
export interface NodeRedProcess {
  editorPort: number
  /** The port of the starter flow's embedded broker. */
  mqttPort: number
  userDir: string
  /** Everything Node-RED wrote to stdout and stderr so far. */
  output: () => string
  /** Stops Node-RED and removes its user directory. */
  stop: () => Promise<void>
}

/** Starts Node-RED alone (no browser), with Node-RED's `adminAuth` setting when given; resolves once the starter flow's broker listens. */
export async function startNodeRed (adminAuth?: unknown): Promise<NodeRedProcess> {
  const userDir = mkdtempSync(path.join(os.tmpdir(), 'roost-editor-'))
  const editorPort = await freePort()
  const mqttPort = await freePort()
  const nodeRed: ChildProcess = spawn(process.execPath, [path.join(root, 'scripts/start.mjs')], {
    cwd: root,
    env: { ...process.env, ROOST_USER_DIR: userDir, ROOST_EDITOR_PORT: String(editorPort), ROOST_MQTT_PORT: String(mqttPort), ...(adminAuth === undefined ? {} : { ROOST_ADMIN_AUTH: JSON.stringify(adminAuth) }) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<void>((resolve) => { nodeRed.once('exit', () => { resolve() }) })
  let log = ''
  const stop = async (): Promise<void> => {
    nodeRed.kill('SIGTERM')
    await exited
    rmSync(userDir, { recursive: true, force: true })
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        log += chunk.toString()
        if (log.includes(`listen socket on port ${mqttPort}`)) resolve()
      }
      nodeRed.stdout?.on('data', onData)
      nodeRed.stderr?.on('data', onData)
      nodeRed.once('exit', (code) => { reject(new Error(`Node-RED exited with ${String(code)}:\n${log}`)) })
    })
  } catch (error) {
    rmSync(userDir, { recursive: true, force: true })
    throw error
  }
  return { editorPort, mqttPort, userDir, output: () => log, stop }
}

/** Starts Node-RED (with Node-RED's `adminAuth` setting when given) and Chromium; resolves once the starter flow's broker listens. */
export async function startEditorSession (adminAuth?: unknown): Promise<EditorSession> {
  mkdirSync(outputDir, { recursive: true })
  const nodeRed = await startNodeRed(adminAuth)
  const browserDir = mkdtempSync(path.join(os.tmpdir(), 'roost-chromium-'))
  let context: BrowserContext | undefined
  const stop = async (): Promise<void> => {
    await context?.close()
    await nodeRed.stop()
    rmSync(browserDir, { recursive: true, force: true })
  }
  try {
    context = await chromium.launchPersistentContext(browserDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 }
    })
  } catch (error) {
    await stop()
    throw error
  }
  const page = context.pages()[0] ?? await context.newPage()
  page.setDefaultTimeout(WAIT_MS)
  return { page, editorPort: nodeRed.editorPort, mqttPort: nodeRed.mqttPort, userDir: nodeRed.userDir, output: nodeRed.output, stop }
}

/** Runs a command-line client (mosquitto_pub, mosquitto_sub) to its end; code 0 when it succeeded. */
export function run (command: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: WAIT_MS }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : 1, stdout, stderr })
    })
  })
}
