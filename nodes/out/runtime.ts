// `roost out`: publishes msg through the config node's transport, or runs msg.action `connect` /
// `disconnect` as core `mqtt out` does. Every bad message ends in done(err), so a Catch node sees
// it with the msg that caused it.
import { brokerTransport } from '../broker/runtime'
import { readString } from '../shared/config'
import { isConnectionAction, runConnectionAction } from '../shared/connection-action'
import { TransportError } from '../shared/errors'
import { nodeProperties, OutboundError, type OutboundSettings, parseQos, toTransportMessage } from '../shared/outbound'
import type { DoneFunction, NodeMessage, RedApi, RedNode, SendFunction } from '../shared/red'
import { followStatus } from '../shared/status'

interface OutNodeConfig {
  broker?: string
  topic?: string
  qos?: string | number
  retain?: string | boolean
  // MQTT 5 properties, under the names core `mqtt out` gives them in the flow JSON.
  contentType?: string
  respTopic?: string
  correl?: string
  expiry?: string | number
  userProps?: string
}

export function registerOut (RED: RedApi): void {
  function RoostOutNode (this: RedNode, config: OutNodeConfig & { id: string }): void {
    RED.nodes.createNode(this, config)
    const node = this
    const transport = brokerTransport(RED, node, config.broker, 'roost-out.errors.missing-config')
    if (transport === undefined) return
    const settings: OutboundSettings = {
      topic: readString(config.topic).trim(),
      qos: parseQos(config.qos) ?? '',
      retain: config.retain === true || config.retain === 'true' ? true : config.retain === false || config.retain === 'false' ? false : ''
    }
    try {
      const properties = nodeProperties(config)
      if (properties !== undefined) settings.properties = properties
    } catch (error) {
      // The dialog checks this field; a hand-edited flow may still carry a bad one.
      node.error(translate(RED, error).message)
    }
    const status = followStatus(RED, transport, (shown) => { node.status(shown) })

    node.on('input', (msg: NodeMessage, _send: SendFunction, done: DoneFunction) => {
      // Any msg.action is an action, never a message to publish (as in core `mqtt out`).
      if (msg.action !== undefined && msg.action !== null && msg.action !== '') {
        if (isConnectionAction(msg.action)) runConnectionAction(RED, transport, msg.action, msg, done)
        else done(new Error(RED._('roost-out.errors.invalid-action', { action: String(msg.action) })))
        return
      }
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
      status.stop()
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
