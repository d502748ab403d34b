// Helpers for the specs of remote mode: a remote roost-broker node, its transport, and waits on
// its state and on the far broker's subscriptions.
import assert from 'node:assert/strict'
import type { Broker } from '../../lib'
import type { BrokerNode } from '../../nodes/broker/runtime'
import type { RemoteTransport } from '../../nodes/shared/remote-transport'
import type { TransportStatus } from '../../nodes/shared/transport'
import { type FlowNode, helper } from './support'

export function remoteBroker (id: string, port: number, extra: Record<string, unknown> = {}): FlowNode {
  return { id, type: 'roost-broker', mode: 'remote', host: '127.0.0.1', remotePort: String(port), protocolVersion: '4', keepalive: '30', cleansession: true, reconnectPeriod: '1', ...extra }
}

export function transport (id = 'r1'): RemoteTransport {
  const node = helper.getNode(id) as unknown as BrokerNode
  assert.equal(node.transport?.kind, 'remote')
  return node.transport as RemoteTransport
}

export function reaches (state: TransportStatus['state'], id = 'r1'): Promise<void> {
  const t = transport(id)
  if (t.status.state === state) return Promise.resolve()
  return new Promise((resolve) => {
    const stop = t.onStatus((status) => { if (status.state === state) { stop(); resolve() } })
  })
}

/** Waits until the broker has `count` subscriptions from clients (the SUBSCRIBE went through). */
export function subscribed (broker: Broker, count: number): Promise<void> {
  if (broker.subscriptionCount >= count) return Promise.resolve()
  return new Promise((resolve) => {
    const check = (): void => {
      if (broker.subscriptionCount >= count) { broker.off('subscribe', check); resolve() }
    }
    broker.on('subscribe', check)
  })
}
