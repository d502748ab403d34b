// The topic explorer's runtime: one BrokerExplorer per roost-broker node, and its admin endpoints.
// roost.read lets a user browse, search and open a view; roost.write lets one publish and clear.
import type { Broker, PublishProperties, QoS } from '../../lib'
import { readString } from '../shared/config'
import type { AdminResponse, RedApi } from '../shared/red'
import type { RoostTransport } from '../shared/transport'
import { BrokerExplorer, type ViewState } from './explorer'
import type { TopicIndexLimits } from './topic-index'
import { childrenOf, detailsOf, search } from './views'

interface Entry { label: string, explorer: BrokerExplorer }

const explorers = new Map<string, Entry>()

/** Hits a search returns at most. */
const SEARCH_LIMIT = 500

/** Starts the explorer of a broker node (embedded: `broker` given; remote: fed once a view opens). Returns its stop. */
export function exploreBroker (RED: RedApi, id: string, label: string, transport: RoostTransport, broker: Broker | undefined, limits: TopicIndexLimits): () => void {
  explorers.get(id)?.explorer.stop()
  const push = (topic: string, data: unknown): void => { RED.comms?.publish(topic, data, false) }
  const entry: Entry = { label, explorer: new BrokerExplorer(id, transport, broker, limits, push) }
  explorers.set(id, entry)
  return () => {
    entry.explorer.stop()
    if (explorers.get(id) === entry) explorers.delete(id)
  }
}

/** Explorers running now (for tests of the lifecycle). */
export function explorerCount (): number { return explorers.size }

export const EXPLORER_PATH = '/roost/explorer'

type Request = { params?: Record<string, string>, query?: Record<string, unknown>, body?: unknown }

/** The explorer a request names, or a 404 already answered. */
function explorerOf (request: Request, response: AdminResponse): BrokerExplorer | undefined {
  const entry = explorers.get(request.params?.id ?? '')
  if (entry === undefined) response.status(404).json({ error: `no roost-broker ${request.params?.id ?? ''} runs here` })
  return entry?.explorer
}

/** Levels a view may say it shows at most. */
const MAX_SHOWN = 10_000

/** What a view says it shows ({ shown: paths, selected? }), undefined when it says nothing, or what is wrong. */
function viewState (body: Record<string, unknown>): ViewState | undefined | string {
  if (body.shown === undefined) return undefined
  if (!Array.isArray(body.shown) || body.shown.length > MAX_SHOWN || !body.shown.every((path) => typeof path === 'string')) {
    return `shown must be a list of at most ${MAX_SHOWN} level paths`
  }
  if (body.selected !== undefined && typeof body.selected !== 'string') return 'selected must be a topic'
  return { shown: body.shown as string[], ...(typeof body.selected === 'string' ? { selected: body.selected } : {}) }
}

/** The MQTT 5 properties a publish from the view may carry; throws on anything else. */
export function publishProperties (value: unknown): PublishProperties | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('properties must be an object')
  const input = value as Record<string, unknown>
  const properties: PublishProperties = {}
  for (const [name, given] of Object.entries(input)) {
    if ((name === 'contentType' || name === 'responseTopic') && typeof given === 'string') properties[name] = given
    else if (name === 'messageExpiryInterval' && Number.isInteger(given) && (given as number) >= 0 && (given as number) <= 0xffffffff) properties.messageExpiryInterval = given as number
    else if (name === 'payloadFormatIndicator' && typeof given === 'boolean') properties.payloadFormatIndicator = given
    else if (name === 'correlationData' && typeof given === 'string') properties.correlationData = Buffer.from(given)
    else if (name === 'userProperties' && typeof given === 'object' && given !== null && !Array.isArray(given) &&
      Object.values(given).every((each) => typeof each === 'string')) properties.userProperties = given as Record<string, string>
    else throw new Error(`property ${name} is unknown or has a wrong value`)
  }
  return properties
}

export function registerExplorer (RED: RedApi): void {
  const admin = RED.httpAdmin
  const auth = RED.auth
  // Without an admin server (httpAdminRoot: false) there is no editor to show the explorer.
  if (admin === undefined || auth === undefined) return
  const read = auth.needsPermission('roost.read')
  const write = auth.needsPermission('roost.write')
  type Handler = (request: Request, response: AdminResponse, next: () => void) => void
  const get = (path: string, ...handlers: Handler[]): void => { admin.get(path, ...handlers as never[]) }
  const post = (path: string, ...handlers: Handler[]): void => { admin.post(path, ...handlers as never[]) }

  get(EXPLORER_PATH, read, (_request, response) => {
    response.json({ brokers: [...explorers].map(([id, entry]) => ({ id, label: entry.label, kind: entry.explorer.transport.kind, topics: entry.explorer.index.topicCount })).sort((a, b) => a.label.localeCompare(b.label)) })
  })
  get(`${EXPLORER_PATH}/:id/children`, read, (request, response) => {
    const explorer = explorerOf(request, response)
    if (explorer === undefined) return
    // No path: the root's children; path= (empty) is the empty first level of topics like '/a'.
    const path = typeof request.query?.path === 'string' ? request.query.path : undefined
    const rows = childrenOf(explorer.index, path, Date.now())
    if (rows === undefined) response.status(404).json({ error: `no topic level ${path ?? ''}` })
    else response.json({ path: path ?? null, rows, topicCount: explorer.index.topicCount, topicsNotIndexed: explorer.index.topicsNotIndexed, at: Date.now() })
  })
  get(`${EXPLORER_PATH}/:id/topic`, read, (request, response) => {
    const explorer = explorerOf(request, response)
    if (explorer === undefined) return
    const details = detailsOf(explorer.index, readString(request.query?.topic), Date.now())
    if (details === undefined) response.status(404).json({ error: `no topic ${readString(request.query?.topic)}` })
    else response.json(details)
  })
  get(`${EXPLORER_PATH}/:id/search`, read, (request, response) => {
    const explorer = explorerOf(request, response)
    if (explorer === undefined) return
    const found = search(explorer.index, readString(request.query?.q), SEARCH_LIMIT, Date.now())
    if ('error' in found) response.status(400).json(found)
    else response.json(found)
  })
  post(`${EXPLORER_PATH}/:id/watch`, read, (request, response) => {
    const explorer = explorerOf(request, response)
    if (explorer === undefined) return
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>
    const state = viewState(body)
    if (typeof state === 'string') {
      response.status(400).json({ error: state })
      return
    }
    explorer.viewOpened(readString(body.view), state)
    response.json({ commsTopic: explorer.commsTopic })
  })
  post(`${EXPLORER_PATH}/:id/publish`, write, (request, response) => {
    const explorer = explorerOf(request, response)
    if (explorer === undefined) return
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>
    void publishFromView(explorer.transport, body).then(() => { response.json({ published: true }) },
      (error: unknown) => { response.status(400).json({ error: error instanceof Error ? error.message : String(error) }) })
  })
  post(`${EXPLORER_PATH}/:id/clear`, write, (request, response) => {
    const explorer = explorerOf(request, response)
    if (explorer === undefined) return
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>
    // [MQTT-3.3.1-10] a retained message with an empty payload removes the topic's retained message.
    void publishFromView(explorer.transport, { topic: body.topic, payload: '', qos: 0, retain: true }).then(() => { response.json({ cleared: true }) },
      (error: unknown) => { response.status(400).json({ error: error instanceof Error ? error.message : String(error) }) })
  })
}

/** A publish the view asked for, checked: a topic, a text or base64 payload, QoS 0-2, retain, v5 properties. */
async function publishFromView (transport: RoostTransport, body: Record<string, unknown>): Promise<void> {
  if (typeof body.topic !== 'string' || body.topic === '') throw new Error('a topic is required')
  const qos = body.qos === undefined ? 0 : Number(body.qos)
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`QoS must be 0, 1 or 2, not ${String(body.qos)}`)
  const payload = body.encoding === 'base64' ? Buffer.from(readString(body.payload), 'base64') : Buffer.from(readString(body.payload))
  const properties = publishProperties(body.properties)
  await transport.publish({ topic: body.topic, payload, qos: qos as QoS, retain: body.retain === true, ...(properties === undefined ? {} : { properties }) })
}
