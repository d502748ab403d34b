// The roost-broker config node: runs a broker in this process (embedded) or connects to one
// (remote), and hands the in and out nodes one RoostTransport either way.
import type { BrokerOptions, Logger } from '../../lib'
import { clientFactory } from '../shared/client-engine'
import { EmbeddedTransport } from '../shared/embedded-transport'
import type { RedApi, RedNode, TlsConfigNode } from '../shared/red'
import { RemoteTransport } from '../shared/remote-transport'
import { watchBroker } from '../sidebar/runtime'
import { exploreBroker } from '../explorer/runtime'
import { explorerLimits } from '../explorer/settings'
import { readBool, readString } from '../shared/config'
import type { RoostTransport } from '../shared/transport'
import { attachWebSocketPath } from './websocket-path'
import { CLUSTER_CREDENTIALS } from './cluster'
import { type BrokerCredentials, type BrokerNodeConfig, embeddedOptions, lifecycleMessage, remoteClientOptions } from './settings'
import { DialogError, tlsPemOf } from './security'
import { removeStoreIfMarked, storeDirectory } from './store-removal'
import { adopt, followDeploys, NodeLogRelay, park } from './handover'

export interface BrokerNode extends RedNode {
  /** Undefined when the config could not be used; the node has logged why. */
  transport: RoostTransport | undefined
}

/**
 * The transport of the roost-broker config node a node names; undefined when there is none to use,
 * after the node has logged and shown the message under `missingKey`.
 */
export function brokerTransport (RED: RedApi, node: RedNode, brokerId: unknown, missingKey: string): RoostTransport | undefined {
  const brokerNode = RED.nodes.getNode(readString(brokerId)) as BrokerNode | null
  const transport = brokerNode?.transport
  if (transport === undefined) {
    node.error(RED._(missingKey))
    node.status({ fill: 'red', shape: 'ring', text: RED._(missingKey) })
  }
  return transport
}

export function registerBroker (RED: RedApi): void {
  followDeploys(RED.events)
  function RoostBrokerNode (this: BrokerNode, config: BrokerNodeConfig & { id: string }): void {
    RED.nodes.createNode(this, config)
    const node = this
    const credentials: BrokerCredentials = node.credentials ?? {}
    const relay = new NodeLogRelay(node)
    const closeFailed = (error: unknown): void => {
      relay.node.error(RED._('roost-broker.errors.close-failed', { error: error instanceof Error ? error.message : String(error) }))
    }
    let brokerOptions: Partial<BrokerOptions> | undefined
    node.transport = undefined
    try {
      if (config.mode === 'remote') {
        node.transport = createRemote(RED, node, config, credentials, relay)
      } else {
        brokerOptions = embeddedOptions(config, credentials, storeDirectory(RED, node.id), (id) => {
          const tlsNode = RED.nodes.getNode(id) as TlsConfigNode | null
          return tlsNode === null ? undefined : tlsPemOf(tlsNode)
        })
        node.transport = embeddedTransport(RED, node, config, brokerOptions, relay)
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      node.error(error instanceof DialogError
        ? RED._(`roost-broker.errors.${error.key}`, error.details)
        : message === 'no-client-engine'
          ? RED._('roost-broker.errors.no-client-engine')
          : RED._('roost-broker.errors.invalid-config', { error: message }))
    }
    // How the sidebar names this broker: its name, else its port (embedded) or host (remote).
    const label = node.name !== undefined && node.name !== ''
      ? node.name
      : config.mode === 'remote' ? String(config.host ?? '') : `port ${String(config.port ?? 1883)}`
    // The editor's Roost sidebar shows embedded brokers with a history of their traffic.
    const stopLiveView = node.transport instanceof EmbeddedTransport
      ? watchBroker(node.id, label, node.transport.broker)
      : undefined
    // The topic explorer in the same tab: the embedded broker's messages, or a remote one's through '#'.
    const stopExplorer = node.transport === undefined
      ? undefined
      : exploreBroker(RED, node.id, label,
        node.transport, node.transport instanceof EmbeddedTransport ? node.transport.broker : undefined, explorerLimits(config))
    // MQTT over WebSockets on a path of Node-RED's own server, when the dialog names one.
    const stopWebSocketPath = node.transport instanceof EmbeddedTransport
      ? attachWebSocketPath(RED, node, node.transport, readString(config.wsPath))
      : undefined
    node.on('close', (removed: boolean, done: () => void) => {
      stopLiveView?.()
      stopExplorer?.()
      stopWebSocketPath?.()
      const transport = node.transport
      node.transport = undefined
      // A deploy that keeps this node: the broker waits for the new node, its clients connected.
      const parked = removed !== true && transport instanceof EmbeddedTransport && brokerOptions !== undefined &&
        park(node.id, transport, brokerOptions, relay, closeFailed)
      const closed = transport === undefined || parked ? Promise.resolve() : transport.close().catch(closeFailed)
      // The store's files are closed before its directory goes (when the editor asked for that).
      closed.then(() => removeStoreIfMarked(RED, node.id, removed === true)).then((directory) => {
        if (directory !== undefined) node.log(RED._('roost-broker.delete.removed', { directory }))
      }, (error: unknown) => {
        node.error(RED._('roost-broker.delete.remove-failed', { error: error instanceof Error ? error.message : String(error) }))
      }).finally(done)
    })
  }
  RED.nodes.registerType('roost-broker', RoostBrokerNode, {
    credentials: {
      users: { type: 'text' },
      user: { type: 'text' },
      password: { type: 'password' },
      bridgeUsers: { type: 'text' },
      bridgePasswords: { type: 'password' },
      ...CLUSTER_CREDENTIALS
    }
  })
}

/**
 * The embedded broker: the one the previous node of this id left running when only the bridges
 * changed (they are applied now), else a new one, which listens once the previous one is closed.
 */
function embeddedTransport (RED: RedApi, node: BrokerNode, config: BrokerNodeConfig, options: Partial<BrokerOptions>, relay: NodeLogRelay): EmbeddedTransport {
  const previous = adopt(node.id, options, node, (error) => {
    node.error(RED._('roost-broker.errors.invalid-config', { error: error.message }))
  })
  if (previous.transport !== undefined) return previous.transport
  const transportOptions: ConstructorParameters<typeof EmbeddedTransport>[0] = {
    broker: options,
    logger: relay,
    onListenError: (error) => { relay.node.error(RED._('roost-broker.errors.listen-failed', { port: String(config.port ?? ''), error: error.message })) }
  }
  if (previous.closing !== undefined) transportOptions.listenAfter = previous.closing
  return new EmbeddedTransport(transportOptions)
}

function createRemote (RED: RedApi, node: BrokerNode, config: BrokerNodeConfig, credentials: BrokerCredentials, logger: Logger): RoostTransport {
  const factory = clientFactory()
  if (factory === undefined) throw new Error('no-client-engine')
  let tls: Record<string, unknown> | undefined
  if (readBool(config.usetls, false)) {
    tls = {}
    const tlsNode = config.tls === undefined || config.tls === '' ? undefined : RED.nodes.getNode(config.tls) as TlsConfigNode | null
    tlsNode?.addTLSOptions(tls)
  }
  const options: ConstructorParameters<typeof RemoteTransport>[0] = {
    client: remoteClientOptions(config, credentials, tls, logger),
    factory,
    autoConnect: readBool(config.autoConnect, true),
    onError: (error) => { node.warn(RED._('roost-broker.errors.remote-error', { error: error.message })) }
  }
  const birth = lifecycleMessage(config.birthTopic, config.birthPayload, config.birthQos, config.birthRetain)
  if (birth !== undefined) options.birth = birth
  const close = lifecycleMessage(config.closeTopic, config.closePayload, config.closeQos, config.closeRetain)
  if (close !== undefined) options.close = close
  return new RemoteTransport(options)
}
