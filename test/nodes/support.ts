// Shared setup for the node specs: Node-RED's test helper with the Roost nodes from source.
import assert from 'node:assert/strict'
import net from 'node:net'
import path from 'node:path'
import helperModule from 'node-red-node-test-helper'
import type { Broker } from '../../lib'
import type { BrokerNode } from '../../nodes/broker/runtime'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import roostNodes from '../../nodes/index'

export const helper = helperModule
helper.init(require.resolve('node-red'))

export const roost = roostNodes

export type FlowNode = Record<string, unknown> & { id: string, type: string }

/** A message captured by a helper node, typed loosely as Node-RED msgs are. */
export type Msg = Record<string, any>

/** Starts the helper's HTTP server; stop it with stopServer(). */
export function startServer (): Promise<void> {
  return new Promise((resolve) => { helper.startServer(resolve) })
}

export function stopServer (): Promise<void> {
  return new Promise((resolve) => { helper.stopServer(resolve) })
}

/** Resolves with the next `count` messages a helper node receives. */
export function collect (node: { on: (event: 'input', listener: (msg: Msg) => void) => void }, count: number): Promise<Msg[]> {
  return new Promise((resolve) => {
    const got: Msg[] = []
    node.on('input', (msg) => {
      got.push(msg)
      if (got.length === count) resolve(got)
    })
  })
}

/** Resolves with the error a node reports through done(err) or node.error(). */
export function nextError (node: { on: (event: 'call:error', listener: (call: { args: unknown[] }) => void) => void }): Promise<{ args: unknown[] }> {
  return new Promise((resolve) => { node.on('call:error', resolve) })
}

/** A free loopback port (bound then released). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => { resolve(port) })
    })
  })
}

/** True when a TCP server can bind the port now: nobody left it bound. */
export function portIsFree (port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, host, () => { server.close(() => { resolve(true) }) })
  })
}

/** An embedded roost-broker node; in memory unless `extra` turns persistence on (test/nodes/persistence.test.ts). */
export function embeddedBroker (id: string, extra: Record<string, unknown> = {}): FlowNode {
  return { id, type: 'roost-broker', name: 'local', mode: 'embedded', port: 0, bindAddress: '127.0.0.1', allowAnonymous: true, sysInterval: 0, persistence: false, ...extra }
}

/** The engine broker of a loaded embedded roost-broker node, once it listens, and its port. */
export async function listeningBroker (id: string): Promise<{ broker: Broker, port: number }> {
  const transport = (helper.getNode(id) as unknown as BrokerNode).transport as EmbeddedTransport
  await transport.ready()
  const port = transport.broker.addresses[0]?.port
  assert.ok(port !== undefined && port > 0)
  return { broker: transport.broker, port }
}

/** Core nodes the examples use, loaded from the Node-RED the project depends on. */
const coreDir = path.join(path.dirname(require.resolve('@node-red/nodes/package.json')), 'core')
export const coreNodes = [
  require(path.join(coreDir, 'common/20-inject.js')),
  require(path.join(coreDir, 'common/21-debug.js')),
  require(path.join(coreDir, 'common/90-comment.js')),
  require(path.join(coreDir, 'function/10-function.js')),
  require(path.join(coreDir, 'network/05-tls.js'))
] as unknown[]

export interface Mosquitto { port: number, stop: () => Promise<void> }

/** Starts Debian's mosquitto on a free loopback port; resolves once it listens. */
export async function startMosquitto (fixedPort?: number): Promise<Mosquitto> {
  const { spawn } = await import('node:child_process')
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const os = await import('node:os')
  const port = fixedPort ?? await freePort()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-mosquitto-'))
  const conf = path.join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\npersistence false\n`)
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(`listen socket on port ${port}`)) resolve()
    })
    child.once('exit', (code) => { reject(new Error(`mosquitto exited with ${String(code)}: ${output}`)) })
  })
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
