// What the explorer's endpoints and deltas send to the editor, made from the topic index: a
// level's children, one topic's details, search hits, and the short form of a changed topic.
import { topicFilterProblem, topicMatches } from '../../lib'
import type { LevelNode, TopicEntry, TopicIndex } from './topic-index'

/** Characters of a payload shown beside a topic in the tree. */
const PREVIEW_CHARS = 120

/** One row of the tree: a level, with the topic's last value when the level is a topic. */
export interface RowView {
  name: string
  path: string
  topics: number
  messages: number
  hasChildren: boolean
  topic?: TopicSummary
}

/** The short form of a topic: what a row and a delta show. */
export interface TopicSummary {
  messages: number
  retain: boolean
  qos: number
  payloadBytes: number
  lastMs: number
  ratePerSec: number
  preview: string
}

export interface TopicDetails extends TopicSummary {
  topic: string
  /** The kept payload, base64 (the editor decides JSON, text, hex or picture); '' once evicted. */
  payloadBase64: string
  /** True when the kept payload is shorter than the message's (the per-topic cap) or was evicted. */
  truncated: boolean
  properties: Record<string, unknown>
  userProperties: Array<[string, string]>
  history: Array<{ at: number, text: string }>
}

export function summary (entry: TopicEntry, now: number): TopicSummary {
  const payload = entry.payload
  return {
    messages: entry.messages,
    retain: entry.retain,
    qos: entry.qos,
    payloadBytes: entry.payloadBytes,
    lastMs: entry.lastMs,
    ratePerSec: Math.round(entry.rate.perSecond(now) * 100) / 100,
    preview: payload === undefined ? '' : payload.toString('utf8', 0, Math.min(payload.length, PREVIEW_CHARS))
  }
}

function pathOf (level: LevelNode): string {
  const names: string[] = []
  for (let up: LevelNode | undefined = level; up?.parent !== undefined; up = up.parent) names.push(up.name)
  return names.reverse().join('/')
}

function row (level: LevelNode, path: string, now: number): RowView {
  const view: RowView = { name: level.name, path, topics: level.topics, messages: level.messages, hasChildren: (level.children?.size ?? 0) > 0 }
  if (level.entry !== undefined) view.topic = summary(level.entry, now)
  return view
}

/** The children of the level at `path` (the root's when undefined), sorted by name; undefined when there is no such level. */
export function childrenOf (index: TopicIndex, path: string | undefined, now: number): RowView[] | undefined {
  const level = index.levelAt(path)
  if (level === undefined) return undefined
  const rows: RowView[] = []
  for (const child of level.children?.values() ?? []) rows.push(row(child, path === undefined ? child.name : `${path}/${child.name}`, now))
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

export function detailsOf (index: TopicIndex, topic: string, now: number): TopicDetails | undefined {
  const entry = index.find(topic)
  if (entry === undefined) return undefined
  const properties: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(entry.properties ?? {})) {
    if (name === 'userProperties') continue
    properties[name] = Buffer.isBuffer(value) ? value.toString('base64') : value
  }
  return {
    topic,
    ...summary(entry, now),
    payloadBase64: entry.payload?.toString('base64') ?? '',
    truncated: (entry.payload?.length ?? 0) < entry.payloadBytes,
    properties,
    userProperties: entry.userPropertyPairs ?? [],
    history: entry.history?.entries() ?? []
  }
}

/**
 * Topics matching a search: an MQTT filter when the text holds '+' or '#' (a malformed one is an
 * error), else the topics containing the text (case-insensitive). At most `limit` hits, in tree order.
 */
export function search (index: TopicIndex, text: string, limit: number, now: number): { hits: RowView[], more: boolean } | { error: string } {
  const isFilter = text.includes('+') || text.includes('#')
  if (isFilter) {
    const problem = topicFilterProblem(text)
    if (problem !== undefined) return { error: `Invalid filter "${text}": ${problem}` }
  }
  const needle = text.toLowerCase()
  const hits: RowView[] = []
  let more = false
  const stack: LevelNode[] = [index.root]
  while (stack.length > 0) {
    const level = stack.pop() as LevelNode
    if (level.entry !== undefined) {
      const topic = level.entry.topic
      if (isFilter ? topicMatches(text, topic) : topic.toLowerCase().includes(needle)) {
        if (hits.length === limit) { more = true; break }
        hits.push(row(level, pathOf(level), now))
      }
    }
    if (level.children !== undefined) {
      const children = [...level.children.values()].sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0))
      for (const child of children) stack.push(child)
    }
  }
  return { hits, more }
}
