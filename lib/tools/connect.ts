// From a tool's command line to a connected client engine: client id, TLS (files, PSK, version),
// will, MQTT 5 properties; then the first connection, whose failures end the tool with
// Mosquitto's messages and exit codes (a refused CONNACK exits with its return or reason code).
import { bridgeTls } from '../bridge/tls'
import type { BridgeTlsOptions } from '../bridge/options'
import { ClientError, createClient, type ClientOptionsInput, type ConnectProperties, type DisconnectOptions, type MqttClient, type WillOptions } from '../client'
import { ConfigError } from '../errors'
import type { PublishProperties } from '../types'
import type { ToolConfig } from './args'
import { ToolFailure } from './errors'
import type { PropertyBag } from './properties'
import { userPropertyObject } from './properties'
import { connackString, reasonString } from './reasons'

/** Where a tool writes: the process's streams outside tests. */
export interface ToolStreams {
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/** Error lines go to stderr unless --quiet; debug lines (-d) to stdout, as Mosquitto's tools do. */
export class ToolOutput {
  constructor (readonly streams: ToolStreams, private readonly config: ToolConfig) {}

  error (line: string): void {
    if (!this.config.quiet) this.streams.stderr.write(`${line}\n`)
  }

  debug (client: MqttClient | undefined, line: string): void {
    if (this.config.debug) this.streams.stdout.write(`Client ${client?.clientId !== undefined && client.clientId !== '' ? client.clientId : '(null)'} ${line}\n`)
  }

  /** The client's errors once it is connected: written only with -d. */
  reportErrors (client: MqttClient): void {
    client.on('error', (error) => { if (this.config.debug) this.error(`Error: ${error.message}`) })
  }
}

function clientIdOf (config: ToolConfig): string {
  if (config.clientId !== undefined) return config.clientId
  if (config.idPrefix !== undefined) return `${config.idPrefix}${process.pid}`
  // The server names a client that brings no id [MQTT-3.1.3-6]; MQTT 3.1 needs one of its own.
  return config.protocolVersion === 3 ? `roost_${config.tool}_${process.pid}` : ''
}

/** PUBLISH (and will) properties from -D, as the client engine takes them. */
export function publishProperties (bag: PropertyBag): PublishProperties | undefined {
  const v = bag.values
  const properties: PublishProperties = {}
  if (v.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = v.payloadFormatIndicator === 1
  if (v.messageExpiryInterval !== undefined) properties.messageExpiryInterval = v.messageExpiryInterval as number
  if (v.contentType !== undefined) properties.contentType = v.contentType as string
  if (v.responseTopic !== undefined) properties.responseTopic = v.responseTopic as string
  if (v.correlationData !== undefined) properties.correlationData = v.correlationData as Buffer
  const user = userPropertyObject(bag.userProperties)
  if (user !== undefined) properties.userProperties = user
  return Object.keys(properties).length > 0 ? properties : undefined
}

function connectProperties (config: ToolConfig): ConnectProperties | undefined {
  const { values, userProperties } = config.properties.connect
  const properties: ConnectProperties = {}
  for (const name of ['sessionExpiryInterval', 'receiveMaximum', 'maximumPacketSize', 'topicAliasMaximum'] as const) {
    if (values[name] !== undefined) properties[name] = values[name] as number
  }
  if (values.requestResponseInformation !== undefined) properties.requestResponseInformation = values.requestResponseInformation === 1
  if (values.requestProblemInformation !== undefined) properties.requestProblemInformation = values.requestProblemInformation === 1
  if (config.sessionExpirySec !== undefined && config.sessionExpirySec > 0) properties.sessionExpiryInterval = config.sessionExpirySec
  // Fewer messages in flight than -C asks for, so the tool does not receive more than it prints.
  if (config.messageCount > 0 && config.messageCount < 20 && properties.receiveMaximum === undefined) properties.receiveMaximum = config.messageCount
  const user = userPropertyObject(userProperties)
  if (user !== undefined) properties.userProperties = user
  return Object.keys(properties).length > 0 ? properties : undefined
}

/** DISCONNECT properties from -D, for end(). */
export function disconnectOptions (config: ToolConfig, reasonCode = 0): DisconnectOptions {
  const { values, userProperties } = config.properties.disconnect
  const properties: NonNullable<DisconnectOptions['properties']> = {}
  if (values.sessionExpiryInterval !== undefined) properties.sessionExpiryInterval = values.sessionExpiryInterval as number
  if (values.reasonString !== undefined) properties.reasonString = values.reasonString as string
  const user = userPropertyObject(userProperties)
  if (user !== undefined) properties.userProperties = user
  return Object.keys(properties).length > 0 ? { reasonCode, properties } : { reasonCode }
}

function willOf (config: ToolConfig): WillOptions | undefined {
  if (config.willTopic === undefined) return undefined
  const will: WillOptions = { topic: config.willTopic, payload: config.willPayload ?? '', qos: config.willQos, retain: config.willRetain }
  const properties: WillOptions['properties'] = publishProperties(config.properties.will) ?? {}
  const delay = config.properties.will.values.willDelayInterval
  if (delay !== undefined) properties.willDelayInterval = delay as number
  if (config.protocolVersion === 5 && Object.keys(properties).length > 0) will.properties = properties
  return will
}

/** TLS as Mosquitto's tools choose it: CA files or PSK; the system's CAs for mqtts:// or port 8883. */
function tlsOf (config: ToolConfig): ClientOptionsInput['tls'] {
  const t = config.tls
  const settings: BridgeTlsOptions = { insecure: t.insecure }
  if (t.cafile !== undefined) settings.cafile = t.cafile
  if (t.capath !== undefined) settings.capath = t.capath
  if (t.certfile !== undefined) settings.certfile = t.certfile
  if (t.keyfile !== undefined) settings.keyfile = t.keyfile
  if (t.version !== undefined) settings.version = t.version
  if (t.alpn !== undefined) settings.alpn = t.alpn
  if (t.psk !== undefined && t.pskIdentity !== undefined) { settings.psk = t.psk; settings.identity = t.pskIdentity }
  let tls: ClientOptionsInput['tls']
  try {
    tls = bridgeTls(settings)
  } catch (error) {
    if (error instanceof ConfigError) throw new ToolFailure(`Error: Problem setting TLS options: ${error.message}.`, 1)
    throw error
  }
  if (tls === undefined && (t.useOsCerts || config.port === 8883)) {
    tls = { rejectUnauthorized: true }
    if (t.insecure) tls.checkServerIdentity = () => undefined
  }
  if (tls !== undefined && t.ciphers !== undefined) tls.ciphers = t.ciphers
  return tls
}

/** The client engine's options for a tool's command line. Throws ToolFailure for unusable TLS files. */
export function clientOptions (config: ToolConfig, reconnect: boolean): ClientOptionsInput {
  const tls = tlsOf(config)
  const options: ClientOptionsInput = {
    host: config.host,
    port: config.port ?? (tls !== undefined && config.tls.useOsCerts === false ? 8883 : 1883),
    clientId: clientIdOf(config),
    keepaliveSec: config.keepaliveSec,
    cleanSession: config.cleanSession,
    protocolVersion: config.protocolVersion,
    reconnectPeriodMs: reconnect ? 1000 : 0,
    maxInflightMessages: config.maxInflight,
    useTopicAliases: config.properties.publish.values.topicAlias !== undefined,
    messageIds: true
  }
  if (tls !== undefined) options.tls = tls
  if (config.username !== undefined) options.username = config.username
  if (config.password !== undefined) options.password = config.password
  const will = willOf(config)
  if (will !== undefined) options.will = will
  if (config.protocolVersion === 5) {
    const properties = connectProperties(config)
    if (properties !== undefined) options.properties = properties
  }
  return options
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  EADDRNOTAVAIL: 'Cannot assign requested address'
}

/** The line and exit code for a first connection that failed, in Mosquitto's words. */
export function connectFailure (error: Error, protocolVersion: number): ToolFailure {
  if (error instanceof ClientError && error.code === 'REFUSED' && error.reasonCode !== undefined) {
    const code = error.reasonCode
    if (protocolVersion !== 5) return new ToolFailure(`Connection error: ${connackString(code)}`, code)
    const hint = code === 0x84 ? '. Try connecting to an MQTT v5 broker, or use MQTT v3.x mode.' : ''
    return new ToolFailure(`Connection error: ${reasonString(code)}${hint}`, code)
  }
  const code = (error as NodeJS.ErrnoException).code ?? ''
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ToolFailure('Unable to connect (Lookup error.).', 1)
  const errno = ERRNO_TEXT[code]
  if (errno !== undefined) return new ToolFailure(`Error: ${errno}`, 1)
  if (error instanceof ClientError) return new ToolFailure(`Error: ${error.message}`, 1)
  // Everything else on the way up is TLS: a certificate not trusted, a name that does not match,
  // a wrong pre-shared key. (mosquitto_sub exits with 1 or 8 for these, depending on when its
  // library notices; the first attempt of this client always sees it while connecting: 1.)
  const reason = error.message.split('\n')[0]?.trim() ?? ''
  return new ToolFailure(`Unable to connect (A TLS error occurred: ${reason}).`, 1)
}

/**
 * Creates the client and resolves once the first CONNACK accepted the connection; rejects with
 * a ToolFailure when that first attempt fails in any way (later drops are the caller's).
 */
export async function connectTool (config: ToolConfig, output: ToolOutput, reconnect: boolean): Promise<MqttClient> {
  const client = createClient(clientOptions(config, reconnect))
  output.debug(client, 'sending CONNECT')
  return await new Promise<MqttClient>((resolve, reject) => {
    const onError = (error: Error): void => {
      client.off('connect', onConnect)
      client.off('error', onError)
      // Errors of later connections are reported by the tool; this first one ends it.
      client.on('error', () => {})
      void client.end(true)
      reject(connectFailure(error, config.protocolVersion))
    }
    const onConnect = (): void => {
      client.off('error', onError)
      output.debug(client, 'received CONNACK (0)')
      resolve(client)
    }
    client.once('connect', onConnect)
    client.on('error', onError)
    client.connect()
  })
}
