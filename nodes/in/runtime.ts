// `roost in`: subscribes through the config node's transport and sends one msg per message.
// With "dynamic" subscriptions it takes msg.action subscribe / unsubscribe / getSubscriptions and
// connect / disconnect, with the message shapes of core `mqtt in`.
import type { QoS } from '../../lib'
import { brokerTransport } from '../broker/runtime'
import { readBool, readString } from '../shared/config'
import { isConnectionAction, runConnectionAction } from '../shared/connection-action'
import { isOutputType, type OutputType, toNodeMessage } from '../shared/inbound'
import { parseQos } from '../shared/outbound'
import type { DoneFunction, NodeMessage, RedApi, RedNode, SendFunction } from '../shared/red'
import { followStatus, type StatusFollower } from '../shared/status'
import type { RoostTransport, SubscribeOptions, TransportMessage } from '../shared/transport'

interface InNodeConfig {
  broker?: string
  topic?: string
  qos?: string | number
  datatype?: string
  dynamic?: boolean | string
  // MQTT 5 subscription options, under the names core `mqtt in` gives them in the flow JSON.
  nl?: boolean | string
  rap?: boolean | string
  rh?: string | number
  subid?: string | number
}

/** One dynamic subscription, as msg.subscriptions and getSubscriptions list it. */
interface DynamicSubscription {
  topic: string
  qos: QoS
  datatype?: OutputType
  nl?: boolean
  rap?: boolean
  rh?: 0 | 1 | 2
}

export function registerIn (RED: RedApi): void {
  function RoostInNode (this: RedNode, config: InNodeConfig & { id: string }): void {
    RED.nodes.createNode(this, config)
    const node = this
    const transport = brokerTransport(RED, node, config.broker, 'roost-in.errors.missing-config')
    if (transport === undefined) return
    const outputType: OutputType = isOutputType(config.datatype) ? config.datatype : 'auto-detect'
    const unsubscribers = new Map<string, () => void>()
    const dynamic = new Map<string, DynamicSubscription>()
    const status = followStatus(RED, transport, (shown) => { node.status(shown) }, () => unsubscribers.size)

    const deliver = (type: OutputType) => (message: TransportMessage): void => {
      const result = toNodeMessage(message, type)
      if ('error' in result) node.error(RED._(`roost-in.errors.${result.error}`), result.msg)
      else node.send(result.msg)
    }

    if (readBool(config.dynamic, false)) {
      node.on('input', (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
        handleAction(RED, transport, msg, send, done, { dynamic, unsubscribers, deliver, defaultType: outputType, status })
      })
    } else {
      const topic = readString(config.topic)
      const qos = parseQos(config.qos) ?? 2
      const options: SubscribeOptions = { noLocal: readBool(config.nl, false), retainAsPublished: readBool(config.rap, true), retainHandling: parseQos(config.rh) ?? 0 }
      const subscriptionIdentifier = parseSubscriptionIdentifier(config.subid)
      if (subscriptionIdentifier !== undefined) options.subscriptionIdentifier = subscriptionIdentifier
      try {
        unsubscribers.set(topic, transport.subscribe(topic, qos, deliver(outputType), options))
        status.refresh()
      } catch {
        node.error(RED._('roost-in.errors.invalid-topic', { topic }))
      }
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      for (const unsubscribe of unsubscribers.values()) unsubscribe()
      unsubscribers.clear()
      dynamic.clear()
      status.stop()
      done()
    })
  }
  RED.nodes.registerType('roost in', RoostInNode)
}

interface ActionState {
  dynamic: Map<string, DynamicSubscription>
  unsubscribers: Map<string, () => void>
  deliver: (type: OutputType) => (message: TransportMessage) => void
  defaultType: OutputType
  status: StatusFollower
}

function handleAction (RED: RedApi, transport: RoostTransport, msg: NodeMessage, send: SendFunction, done: DoneFunction, state: ActionState): void {
  const action = msg.action
  if (action === 'getSubscriptions') {
    msg.topic = 'subscriptions'
    msg.payload = [...state.dynamic.values()]
    send(msg)
    done()
    return
  }
  if (isConnectionAction(action)) {
    runConnectionAction(RED, transport, action, msg, done)
    return
  }
  if (action !== 'subscribe' && action !== 'unsubscribe') {
    done(new Error(RED._('roost-in.errors.invalid-action', { action: String(action) })))
    return
  }
  let requested: unknown[]
  if (action === 'unsubscribe' && msg.topic === true) requested = [...state.dynamic.values()]
  else if (Array.isArray(msg.topic)) requested = msg.topic
  else if (typeof msg.topic === 'string' || (typeof msg.topic === 'object' && msg.topic !== null)) requested = [msg.topic]
  else {
    done(new Error(RED._('roost-in.errors.invalid-subscription')))
    return
  }
  const subscriptions: DynamicSubscription[] = []
  for (const item of requested) {
    const parsed = parseSubscription(item)
    if (parsed === undefined) {
      done(new Error(RED._('roost-in.errors.invalid-topic', { topic: describeTopic(item) })))
      return
    }
    subscriptions.push(parsed)
  }
  if (action === 'unsubscribe') {
    for (const sub of subscriptions) {
      state.unsubscribers.get(sub.topic)?.()
      state.unsubscribers.delete(sub.topic)
      state.dynamic.delete(sub.topic)
    }
  } else {
    for (const sub of subscriptions) {
      // Subscribing again to a topic replaces the earlier subscription instead of doubling it.
      state.unsubscribers.get(sub.topic)?.()
      state.unsubscribers.delete(sub.topic)
      state.dynamic.delete(sub.topic)
      const options: SubscribeOptions = {}
      if (sub.nl !== undefined) options.noLocal = sub.nl
      if (sub.rap !== undefined) options.retainAsPublished = sub.rap
      if (sub.rh !== undefined) options.retainHandling = sub.rh
      try {
        state.unsubscribers.set(sub.topic, transport.subscribe(sub.topic, sub.qos, state.deliver(sub.datatype ?? state.defaultType), options))
      } catch {
        state.status.refresh()
        done(new Error(RED._('roost-in.errors.invalid-topic', { topic: sub.topic })))
        return
      }
      state.dynamic.set(sub.topic, sub)
    }
  }
  state.status.refresh()
  msg.subscriptions = [...state.dynamic.values()]
  done()
}

function parseSubscription (item: unknown): DynamicSubscription | undefined {
  if (typeof item === 'string') return item === '' ? undefined : { topic: item, qos: 2 }
  if (typeof item !== 'object' || item === null) return undefined
  const source = item as Record<string, unknown>
  if (typeof source.topic !== 'string' || source.topic === '') return undefined
  // Dynamic subscriptions default to QoS 2, as in core `mqtt in`.
  const sub: DynamicSubscription = { topic: source.topic, qos: parseQos(source.qos) ?? 2 }
  if (isOutputType(source.datatype)) sub.datatype = source.datatype
  if (source.nl !== undefined) sub.nl = readBool(source.nl, false)
  if (source.rap !== undefined) sub.rap = readBool(source.rap, true)
  const rh = parseQos(source.rh)
  if (rh !== undefined) sub.rh = rh
  return sub
}

function describeTopic (item: unknown): string {
  if (typeof item === 'string') return item
  if (typeof item === 'object' && item !== null && 'topic' in item) return String((item as { topic: unknown }).topic)
  return String(item)
}

/** A Subscription Identifier from the dialog: 1 to 268,435,455 (MQTT 5.0, 3.8.2.1.2); empty for none. */
function parseSubscriptionIdentifier (value: unknown): number | undefined {
  const id = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN
  return Number.isInteger(id) && id >= 1 && id <= 268_435_455 ? id : undefined
}
