// The roost-broker dialog's Cluster tab, turned into BrokerOptions.cluster: the NATS servers and
// this node's name in the flow JSON, the NATS user, password, token or nkey seed in the node's
// credentials (never in a flow export), TLS from a tls-config node as the Bridges tab does. The
// engine's schema and clusterOptionsProblem() then judge the result as they judge the
// cluster_nats_* words of a config file.
import type { ClusterOptions, ClusterTlsOptions } from '../../lib/cluster/options'
import { readBool, readString } from '../shared/config'
import { DialogError, type TlsLookup } from './security'

/** The Cluster tab's fields in the flow JSON. */
export interface ClusterConfig {
  /** Whether this broker joins a cluster. */
  clusterEnabled?: boolean | string
  /** Space-separated NATS server URLs. */
  clusterServers?: string
  /** This node's name in the cluster; empty for host name and process id. */
  clusterNodeId?: string
  /** Copies JetStream keeps of the stream and buckets (1 to 5); empty for one. */
  clusterReplicas?: string | number
  /** Id of a tls-config node; empty for no TLS of our own choosing. */
  clusterTls?: string
}

/** The Cluster tab's secrets, kept in the node's credentials. */
export interface ClusterCredentials {
  clusterUser?: string
  clusterPassword?: string
  clusterToken?: string
  clusterNkeySeed?: string
}

/** The credential fields above, as Node-RED registers them (runtime and editor). */
export const CLUSTER_CREDENTIALS = {
  clusterUser: { type: 'text' },
  clusterPassword: { type: 'password' },
  clusterToken: { type: 'password' },
  clusterNkeySeed: { type: 'password' }
} as const

/** The cluster options of the dialog; undefined when the tab leaves clustering off. */
export function clusterOptions (config: ClusterConfig, credentials: ClusterCredentials, lookupTls: TlsLookup): ClusterOptions | undefined {
  if (!readBool(config.clusterEnabled, false)) return undefined
  const cluster: ClusterOptions = { servers: readString(config.clusterServers).split(/[\s,]+/).filter((url) => url !== '') }
  const nodeId = readString(config.clusterNodeId).trim()
  if (nodeId !== '') cluster.nodeId = nodeId
  // Not read with a fallback: anything but a whole number reaches the schema, which names the field.
  const replicas = String(config.clusterReplicas ?? '').trim()
  if (replicas !== '') cluster.replicas = Number(replicas)
  const tlsId = readString(config.clusterTls)
  if (tlsId !== '') cluster.tls = clusterTls(tlsId, lookupTls)
  const secrets: Array<[keyof ClusterCredentials, 'username' | 'password' | 'token' | 'nkeySeed']> = [
    ['clusterUser', 'username'], ['clusterPassword', 'password'], ['clusterToken', 'token'], ['clusterNkeySeed', 'nkeySeed']
  ]
  for (const [field, option] of secrets) {
    const value = readString(credentials[field]).trim()
    if (value !== '') cluster[option] = value
  }
  return cluster
}

/** The tls-config node's PEM text; its CA checks NATS's certificate, its certificate and key answer `verify: true`. */
function clusterTls (id: string, lookupTls: TlsLookup): ClusterTlsOptions {
  const pem = lookupTls(id)
  if (pem === undefined) throw new DialogError('cluster-no-tls-config')
  const tls: ClusterTlsOptions = {}
  if (pem.ca !== undefined) tls.ca = pem.ca
  if (pem.cert !== undefined) tls.cert = pem.cert
  if (pem.key !== undefined) tls.key = pem.key
  if (pem.passphrase !== undefined) tls.passphrase = pem.passphrase
  return tls
}
