// `roost sys`: every interval, one msg whose payload is the broker's statistics object, from the
// embedded broker's counters or a remote broker's $SYS tree (see shared/stats-source.ts).
import type { BrokerStatsSnapshot } from '../../lib'
import { brokerTransport } from '../broker/runtime'
import { readInt } from '../shared/config'
import type { DoneFunction, NodeMessage, NodeStatus, RedApi, RedNode, SendFunction } from '../shared/red'
import { type StatsSource, statsSource } from '../shared/stats-source'
import { describeStatus } from '../shared/status'

interface SysNodeConfig {
  broker?: string
  interval?: string | number
}

export const SYS_TOPIC = 'roost/sys'
export const DEFAULT_SYS_INTERVAL_SEC = 10

export function registerSys (RED: RedApi): void {
  function RoostSysNode (this: RedNode, config: SysNodeConfig & { id: string }): void {
    RED.nodes.createNode(this, config)
    const node = this
    const transport = brokerTransport(RED, node, config.broker, 'roost-sys.errors.missing-config')
    if (transport === undefined) return
    const intervalSec = Math.max(1, readInt(config.interval, DEFAULT_SYS_INTERVAL_SEC))
    const source: StatsSource = statsSource(transport)

    /** Sends the figures now; returns false when there are none yet. */
    const emit = (send: SendFunction, msg: NodeMessage = {}): boolean => {
      if (transport.status.state !== 'connected') {
        node.status(describeStatus(RED, transport.kind, transport.status))
        return false
      }
      const snapshot = source.snapshot()
      if (snapshot === undefined) {
        node.status({ fill: 'yellow', shape: 'ring', text: RED._('roost-sys.status.waiting') })
        return false
      }
      node.status(summary(RED, snapshot))
      msg.topic = SYS_TOPIC
      msg.payload = snapshot
      send(msg)
      return true
    }

    node.status(describeStatus(RED, transport.kind, transport.status))
    const timer = setInterval(() => { emit(node.send.bind(node)) }, intervalSec * 1000)
    node.on('input', (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
      emit(send, msg)
      done()
    })
    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer)
      source.close()
      done()
    })
  }
  RED.nodes.registerType('roost sys', RoostSysNode)
}

/** "12 clients, 340 msg/s": connected clients and PUBLISH messages in plus out per second. */
function summary (RED: RedApi, snapshot: BrokerStatsSnapshot): NodeStatus {
  const rate = Math.round(snapshot.rates.publishReceived + snapshot.rates.publishSent)
  return { fill: 'green', shape: 'dot', text: RED._('roost-sys.status.summary', { clients: snapshot.clients.connected, rate }) }
}
