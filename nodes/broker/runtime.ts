// The roost-broker config node: runs a broker in this process (embedded) or connects to one
// (remote), and hands the in and out nodes one RoostTransport either way.
import type { Logger } from '../../lib'
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
import { BridgeDialogError } from './bridges'
import { type BrokerCredentials, type BrokerNodeConfig, embeddedOptions, lifecycleMessage, remoteClientOptions } from './settings'
import { DialogError, tlsPemOf } from './security'
import { removeStoreIfMarked, storeDirectory } from './store-removal'

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
  function RoostBrokerNode (this: BrokerNode, config: BrokerNodeConfig & { id: string }): void {
    RED.nodes.createNode(this, config)
    const node = this
    const credentials: BrokerCredentials = node.credentials ?? {}
    const logger = nodeLogger(node)
    node.transport = undefined
    try {
      node.transport = config.mode === 'remote'
        ? createRemote(RED, node, config, credentials, logger)
        : new EmbeddedTransport({
          broker: embeddedOptions(config, credentials, storeDirectory(RED, node.id), (id) => {
            const tlsNode = RED.nodes.getNode(id) as TlsConfigNode | null
            return tlsNode === null ? undefined : tlsPemOf(tlsNode)
          }),
          logger,
          onListenError: (error) => { node.error(RED._('roost-broker.errors.listen-failed', { port: String(config.port ?? ''), error: error.message })) }
        })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      node.error(error instanceof DialogError || error instanceof BridgeDialogError
        ? RED._(`roost-broker.errors.${error.key}`, error.details)
        : message === 'no-client-engine'
          ? RED._('roost-broker.errors.no-client-engine')
          : RED._('roost-broker.errors.invalid-config', { error: message }))
    }
    // The editor's Roost sidebar shows embedded brokers with a history of their traffic.
    const stopLiveView = node.transport instanceof EmbeddedTransport
      ? watchBroker(node.id, node.name !== undefined && node.name !== '' ? node.name : `port ${String(config.port ?? 1883)}`, node.transport.broker)
      : undefined
    // The topic explorer in the same tab: the embedded broker's messages, or a remote one's through '#'.
    const stopExplorer = node.transport === undefined
      ? undefined
      : exploreBroker(RED, node.id, node.name !== undefined && node.name !== '' ? node.name : config.mode === 'remote' ? String(config.host ?? '') : `port ${String(config.port ?? 1883)}`,
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
      const closed = transport === undefined
        ? Promise.resolve()
        : transport.close().catch((error: unknown) => {
          node.error(RED._('roost-broker.errors.close-failed', { error: error instanceof Error ? error.message : String(error) }))
        })
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
      bridgePasswords: { type: 'password' }
    }
  })
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
    onError: (error) => { node.warn(RED._('roost-broker.errors.remote-error', { error: error.message })) }
  }
  const birth = lifecycleMessage(config.birthTopic, config.birthPayload, config.birthQos, config.birthRetain)
  if (birth !== undefined) options.birth = birth
  const close = lifecycleMessage(config.closeTopic, config.closePayload, config.closeQos, config.closeRetain)
  if (close !== undefined) options.close = close
  return new RemoteTransport(options)
}

/** Engine log lines go to the Node-RED log under this node's name. */
function nodeLogger (node: RedNode): Logger {
  return {
    debug: () => {},
    info: () => {},
    notice: (line) => { node.log(line) },
    warning: (line) => { node.warn(line) },
    error: (line) => { node.error(line) }
  }
}
