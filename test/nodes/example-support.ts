// Shared by the example specs: reading an example, putting it on a tab with free ports, and
// tapping a node's output.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { BrokerNode } from '../../nodes/broker/runtime'
import { collect, type FlowNode, helper, type Msg } from './support'

export const examplesDir = path.resolve(__dirname, '../../examples')

export function readExample (file: string): FlowNode[] {
  return JSON.parse(readFileSync(path.join(examplesDir, file), 'utf8')) as FlowNode[]
}

/** Puts the example on a tab and points its brokers at ports that are free here. */
export function prepare (flow: FlowNode[], embeddedPort: number, remotePort: number): FlowNode[] {
  const prepared: FlowNode[] = [{ id: 'example-tab', type: 'tab', label: 'example' }]
  for (const node of flow) {
    const copy: FlowNode = { ...node }
    if (copy.type === 'roost-broker') {
      if (copy.mode === 'remote') {
        // The home automation gateway talks to the example's own broker; others to the test's.
        const toOwn = flow.some((other) => other.type === 'roost-broker' && other.mode === 'embedded')
        copy.remotePort = String(toOwn ? embeddedPort : remotePort)
      } else {
        copy.port = String(embeddedPort)
        copy.bindAddress = '127.0.0.1'
      }
    } else if (copy.type !== 'tls-config') {
      // Config nodes stay global, as an import leaves them; the rest go on the tab.
      copy.z = 'example-tab'
    }
    // Timed injects would fire on their own; the test triggers them instead.
    if (copy.type === 'inject') { copy.once = false; copy.repeat = '' }
    prepared.push(copy)
  }
  return prepared
}

/** Wires a helper node to the first output of a node, so the test sees what it sends. */
export function tap (flow: FlowNode[], id: string): FlowNode[] {
  return flow.map((node) => node.id === id ? { ...node, wires: [[...((node.wires as string[][] | undefined)?.[0] ?? []), `tap-${id}`]] } : node)
    .concat([{ id: `tap-${id}`, type: 'helper', z: 'example-tab' }])
}

export function sent (id: string, count = 1): Promise<Msg[]> {
  return collect(helper.getNode(`tap-${id}`), count)
}

export function connected (id: string): Promise<void> {
  const transport = (helper.getNode(id) as unknown as BrokerNode).transport
  assert.ok(transport !== undefined)
  if (transport.status.state === 'connected') return Promise.resolve()
  return new Promise((resolve) => {
    const stop = transport.onStatus((status) => { if (status.state === 'connected') { stop(); resolve() } })
  })
}
