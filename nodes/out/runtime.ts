// `roost out`: publishes msg through the config node's transport. Every bad message ends in
// done(err), so a Catch node sees it with the msg that caused it.
import type { BrokerNode } from '../broker/runtime'
import { readString } from '../shared/config'
import { TransportError } from '../shared/errors'
import { OutboundError, type OutboundSettings, parseQos, toTransportMessage } from '../shared/outbound'
import type { DoneFunction, NodeMessage, RedApi, RedNode, SendFunction } from '../shared/red'
import { followStatus } from '../shared/status'

interface OutNodeConfig {
  broker?: string
  topic?: string
  qos?: string | number
  retain?: string | boolean
}

export function registerOut (RED: RedApi): void {
  function RoostOutNode (this: RedNode, config: OutNodeConfig & { id: string }): void {
    RED.nodes.createNode(this, config)
    const node = this
    const brokerNode = RED.nodes.getNode(readString(config.broker)) as BrokerNode | null
    const transport = brokerNode?.transport
    if (transport === undefined) {
      node.error(RED._('roost-out.errors.missing-config'))
      node.status({ fill: 'red', shape: 'ring', text: RED._('roost-out.errors.missing-config') })
      return
    }
    const settings: OutboundSettings = {
      topic: readString(config.topic).trim(),
      qos: parseQos(config.qos) ?? '',
      retain: config.retain === true || config.retain === 'true' ? true : config.retain === false || config.retain === 'false' ? false : ''
    }
    const stopStatus = followStatus(RED, transport, (status) => { node.status(status) })

    node.on('input', (msg: NodeMessage, _send: SendFunction, done: DoneFunction) => {
      // A msg without a payload property is not a message to publish (as in core `mqtt out`).
      if (!Object.prototype.hasOwnProperty.call(msg, 'payload')) { done(); return }
      let message
      try {
        message = toTransportMessage(msg, settings, transport.messageSizeLimit)
      } catch (error) {
        done(translate(RED, error))
        return
      }
      transport.publish(message).then(() => { done() }, (error: unknown) => { done(translate(RED, error)) })
    })

    node.on('close', (_removed: boolean, done: () => void) => {
      stopStatus()
      done()
    })
  }
  RED.nodes.registerType('roost out', RoostOutNode)
}

function translate (RED: RedApi, error: unknown): Error {
  if (error instanceof OutboundError) return new Error(RED._(`roost-out.errors.${error.key}`, error.details))
  if (error instanceof TransportError) return new Error(RED._(`roost-out.errors.${error.code}`))
  return new Error(RED._('roost-out.errors.publish-failed', { error: error instanceof Error ? error.message : String(error) }))
}
