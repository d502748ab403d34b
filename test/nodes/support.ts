// Shared setup for the node specs: Node-RED's test helper with the Roost nodes from source.
import net from 'node:net'
import helperModule from 'node-red-node-test-helper'
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

export function embeddedBroker (id: string, extra: Record<string, unknown> = {}): FlowNode {
  return { id, type: 'roost-broker', name: 'local', mode: 'embedded', port: 0, bindAddress: '127.0.0.1', allowAnonymous: true, sysInterval: 0, ...extra }
}
